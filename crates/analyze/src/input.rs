//! analyze's inputs: [`parallax_model::input`]'s reader (regular files only, a size cap), and
//! gzipped CloudTrail archives read under the same cap.

pub use parallax_model::input::*;

use std::path::Path;

/// Reads a gzipped regular file whose compressed and decompressed sizes are each at most
/// `limit` bytes (a small file that inflates without end is refused, not followed).
pub fn read_gzip_text(path: &Path, limit: u64) -> Result<String, InputError> {
    let file = open(path)?;
    if file.metadata().map_err(InputError::Unreadable)?.len() > limit {
        return Err(InputError::TooLarge { limit });
    }
    let bytes = read_bounded(flate2::read::MultiGzDecoder::new(file), limit)
        .map_err(InputError::NotGzip)?;
    text(bytes, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gzip_that_inflates_past_the_limit_is_refused() {
        use std::io::Write;
        let path = std::env::temp_dir().join(format!("px-bomb-{}.json.gz", std::process::id()));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![b' '; 1 << 20]).unwrap_or_default();
        let bytes = gz.finish().unwrap_or_default();
        assert!(bytes.len() < 4096, "a megabyte of spaces compresses well");
        std::fs::write(&path, &bytes).unwrap_or_default();
        assert!(matches!(
            read_gzip_text(&path, 64 * 1024),
            Err(InputError::TooLarge { limit: 65536 })
        ));
        assert_eq!(
            read_gzip_text(&path, 2 << 20).map(|t| t.len()).ok(),
            Some(1 << 20)
        );
        let _ = std::fs::remove_file(&path);
    }
}
