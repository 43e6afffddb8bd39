//! Request ids: `x-amzn-RequestId` UUIDs and the random bytes behind them and `x-amz-cf-id`.

/// Bytes for request ids. Ids must differ, not be secret: a per-thread generator seeded once
/// from the system RNG (a system call per request showed up in the profile).
pub(crate) fn random<const N: usize>() -> [u8; N] {
    thread_local! {
        static STATE: std::cell::Cell<u64> = std::cell::Cell::new({
            let mut seed = [0u8; 8];
            // A failing system RNG leaves a fixed seed: ids still differ within the thread.
            let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed);
            u64::from_le_bytes(seed) | 1
        });
    }
    let mut b = [0u8; N];
    STATE.with(|s| {
        for chunk in b.chunks_mut(8) {
            // wyrand
            let x = s.get().wrapping_add(0xa076_1d64_78bd_642f);
            s.set(x);
            let t = u128::from(x) * u128::from(x ^ 0xe703_7ed1_a0b4_28db);
            let v = ((t >> 64) as u64 ^ t as u64).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    });
    b
}

/// A random (version 4) UUID, as `x-amzn-RequestId` carries: written in place (the earlier
/// `format!` per byte was 17 allocations on every request).
pub fn uuid4() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut b = random::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(x >> 4)]));
        out.push(char::from(HEX[usize::from(x & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_differ_and_are_uuids() {
        let a = uuid4();
        let b = uuid4();
        assert_ne!(a, b);
        assert_eq!((a.len(), &a[14..15]), (36, "4"));
        // RFC 9562: 8-4-4-4-12 lowercase hex, version 4, variant 10xx.
        for (i, c) in a.char_indices() {
            if matches!(i, 8 | 13 | 18 | 23) {
                assert_eq!(c, '-', "{a}");
            } else {
                assert!(c.is_ascii_hexdigit() && !c.is_ascii_uppercase(), "{a}");
            }
        }
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }
}
