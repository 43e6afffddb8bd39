//! A large JSON text read by two threads: this one from the start, another from just after a
//! `,` near the middle to the end. The other thread first skims the first half for where that
//! `,` is and which containers are open there (strings skipped, nothing built), then reads on
//! from it with the same parser. When this thread reaches that very `,` with the same
//! containers open, it takes what the other read and merges it, level by level, as if it had
//! read it itself: a repeated key across the two halves is found, duplicates keep their order,
//! lines are counted from the text's start. The skim is only a guess (it does not check the
//! text): if this thread does not meet the `,` as guessed, or the other thread found an error,
//! this thread reads on alone, and the result, error included, is the one-thread parse's.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{OnceLock, mpsc};

use super::{DuplicateKey, Json, Node, ParseError};

/// The other thread's state: reading, its work taken, or not wanted.
const READING: u8 = 0;
const TAKEN: u8 = 1;
const UNWANTED: u8 = 2;

/// How often (in bytes skimmed) the skim asks whether it is still wanted.
const ASK_EVERY: usize = 1 << 20;

/// Where the other thread starts: just after a `,`, on `line`, with `open` containers open.
struct Start {
    at: usize,
    line: u32,
    open: Vec<u8>,
}

struct Shared {
    start: OnceLock<Start>,
    state: AtomicU8,
}

/// What the first thread holds of the other.
pub(super) struct Other<'s> {
    shared: &'s Shared,
    rest: mpsc::Receiver<Result<Rest, ParseError>>,
    /// The start was met or passed: asked no more.
    passed: bool,
}

/// The elements after the start of one open container: entries with the number of
/// duplicates the other thread had found when each ended (a repeated key found in merging
/// comes after those), or items (merging them finds none).
enum Level {
    Entries(Vec<(String, Node, usize)>),
    Items(Vec<Node>),
}

/// What the other thread read: each open container's remaining elements, innermost first.
struct Rest {
    levels: Vec<Level>,
    duplicates: Vec<DuplicateKey>,
    end: (usize, u32),
}

/// The other thread's work, being merged by the first.
pub(super) struct Taken {
    levels: std::vec::IntoIter<Level>,
    duplicates: std::vec::IntoIter<DuplicateKey>,
    merged: usize,
    /// Where the other thread stopped (the end of the top value) and its line.
    pub(super) end: (usize, u32),
}

impl Taken {
    /// The duplicates not merged yet (found after the last element's end).
    pub(super) fn rest_of_duplicates(self) -> impl Iterator<Item = DuplicateKey> {
        self.duplicates
    }
}

/// Reads `text` with two threads (see the module's doc).
pub(super) fn parse(text: &str, file: &str) -> Result<(Node, Vec<DuplicateKey>), ParseError> {
    run(text, file, false).0
}

/// [`parse`]; `start_first` finds the start before the first thread sets off (tests: else a
/// small text is read alone before the start is found). Also says whether the hand-off
/// happened.
fn run(
    text: &str,
    file: &str,
    start_first: bool,
) -> (Result<(Node, Vec<DuplicateKey>), ParseError>, bool) {
    let shared = Shared {
        start: OnceLock::new(),
        state: AtomicU8::new(READING),
    };
    if start_first && let Some(start) = find_start(text.as_bytes(), &shared.state) {
        let _ = shared.start.set(start);
    }
    let (send, rest) = mpsc::sync_channel(1);
    std::thread::scope(|scope| {
        let shared = &shared;
        let other = std::thread::Builder::new()
            .name("json-second-half".to_owned())
            .spawn_scoped(scope, move || {
                if let Some(rest) = second_half(text, file, shared) {
                    let _ = send.send(rest);
                }
            });
        let mut first = Json::new(text, file, 0, 1);
        if other.is_ok() {
            first.other = Some(Other {
                shared,
                rest,
                passed: false,
            });
        }
        let result = first.document();
        let taken = shared.state.load(Ordering::Acquire) == TAKEN;
        // Not taken: the other thread stops at its next element or megabyte.
        let _ =
            shared
                .state
                .compare_exchange(READING, UNWANTED, Ordering::AcqRel, Ordering::Acquire);
        if let Ok(handle) = other {
            // A panic there is not this parse's concern: its work was not taken, or was whole.
            let _ = handle.join();
        }
        (result, taken)
    })
}

/// The other thread: finds the start (unless given), publishes it, reads from it to the end.
/// `None` when there is nothing to read or it is no longer wanted.
fn second_half(text: &str, file: &str, shared: &Shared) -> Option<Result<Rest, ParseError>> {
    let start = match shared.start.get() {
        Some(s) => s,
        None => {
            let found = find_start(text.as_bytes(), &shared.state)?;
            let _ = shared.start.set(found);
            shared.start.get()?
        }
    };
    let mut reader = Json::new(text, file, start.at, start.line);
    reader.rest(&start.open, &shared.state).transpose()
}

/// The first `,` outside strings at or after the middle, with the containers open there.
/// Nothing is checked: a text that is not JSON gives a start the first thread never meets.
fn find_start(b: &[u8], state: &AtomicU8) -> Option<Start> {
    let middle = b.len() / 2;
    let mut open = Vec::new();
    let mut i = 0;
    let mut ask_at = ASK_EVERY;
    while let Some(&c) = b.get(i) {
        match c {
            b'"' => {
                // To the closing quote, past escaped characters.
                i += 1;
                loop {
                    let n = b.get(i..)?.iter().position(|&c| c == b'"' || c == b'\\')?;
                    i += n;
                    if b.get(i) == Some(&b'\\') {
                        i += 2;
                    } else {
                        break;
                    }
                }
            }
            b'{' | b'[' => open.push(c),
            b'}' | b']' => {
                open.pop()?;
            }
            b',' if i >= middle && !open.is_empty() => {
                let newlines = b[..i].iter().filter(|&&c| c == b'\n').count();
                return Some(Start {
                    at: i + 1,
                    line: u32::try_from(newlines + 1).ok()?,
                    open,
                });
            }
            _ => {}
        }
        i += 1;
        if i >= ask_at {
            if state.load(Ordering::Relaxed) == UNWANTED {
                return None;
            }
            ask_at = i + ASK_EVERY;
        }
    }
    None
}

impl Json<'_> {
    /// At an element's start, just after a `,`: whether the other thread's work starts here
    /// and is now taken (merged by the containers as they close).
    pub(super) fn hand_off_here(&mut self) -> bool {
        let Some(other) = &mut self.other else {
            return false;
        };
        if other.passed {
            return false;
        }
        let Some(start) = other.shared.start.get() else {
            return false;
        };
        if self.i < start.at {
            return false;
        }
        other.passed = true;
        let here = self.i == start.at && self.open == start.open;
        if !here
            || other
                .shared
                .state
                .compare_exchange(READING, TAKEN, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            other.shared.state.store(UNWANTED, Ordering::Release);
            return false;
        }
        match other.rest.recv() {
            Ok(Ok(rest)) => {
                self.taken = Some(Taken {
                    levels: rest.levels.into_iter(),
                    duplicates: rest.duplicates.into_iter(),
                    merged: 0,
                    end: rest.end,
                });
                true
            }
            // An error (or no answer): read on here, so that the error is this thread's own,
            // as a one-thread parse gives it.
            Ok(Err(_)) | Err(_) => false,
        }
    }

    /// The other thread's duplicates found up to `upto` (its count), in order.
    fn merge_duplicates(&mut self, upto: usize) {
        if let Some(t) = &mut self.taken {
            while t.merged < upto {
                t.merged += 1;
                if let Some(d) = t.duplicates.next() {
                    self.duplicates.push(d);
                }
            }
        }
    }

    /// The other thread's entries of the object being closed, inserted as if read here.
    pub(super) fn merge_entries(&mut self, start: usize, index: &mut hashbrown::HashTable<usize>) {
        let Some(Level::Entries(entries)) = self.taken.as_mut().and_then(|t| t.levels.next())
        else {
            return;
        };
        for (k, v, upto) in entries {
            self.merge_duplicates(upto);
            self.insert(start, index, k, v);
        }
    }

    /// The other thread's items of the array being closed.
    pub(super) fn merge_items(&mut self) {
        let Some(Level::Items(items)) = self.taken.as_mut().and_then(|t| t.levels.next()) else {
            return;
        };
        self.items.extend(items);
    }

    /// From just after a `,` in the innermost of `open`: the rest of each open container,
    /// innermost first, to the end of the top value. `None` when no longer wanted.
    fn rest(&mut self, open: &[u8], state: &AtomicU8) -> Result<Option<Rest>, ParseError> {
        let mut levels = Vec::with_capacity(open.len());
        for (depth, &kind) in open.iter().enumerate().rev() {
            // The innermost container is entered at an element; the others after one.
            let mut at_element = depth + 1 == open.len();
            let mut entries = Vec::new();
            let mut items = Vec::new();
            loop {
                if !at_element && self.close_or_next(kind)? {
                    break;
                }
                at_element = false;
                if state.load(Ordering::Relaxed) == UNWANTED {
                    return Ok(None);
                }
                if kind == b'{' {
                    let (k, v) = self.entry(depth)?;
                    entries.push((k, v, self.duplicates.len()));
                } else {
                    items.push(self.value(depth + 1)?);
                }
            }
            levels.push(if kind == b'{' {
                Level::Entries(entries)
            } else {
                Level::Items(items)
            });
        }
        Ok(Some(Rest {
            levels,
            duplicates: std::mem::take(&mut self.duplicates),
            end: (self.i, self.line),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ways of reading agree, and the hand-off happened when `handed` says so.
    fn same(text: &str) -> bool {
        let alone = Json::new(text, "f", 0, 1).document();
        let (split, handed) = run(text, "f", true);
        match (&alone, &split) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
            (Err(a), Err(b)) => assert_eq!((a.line, &a.message), (b.line, &b.message), "{text}"),
            _ => panic!("one read failed and the other did not: {alone:?} / {split:?}\n{text}"),
        }
        handed
    }

    #[test]
    fn two_threads_read_what_one_reads() {
        let cases = [
            // A large object split inside, a key repeated across the halves.
            r#"{"a": 1, "b": [1, 2, 3], "c": {"x": 1, "x": 2}, "d": "e,f", "a": 9, "g": [{"h": 1}], "i": true}"#,
            // Arrays nested, the split deep inside, then more after it closes.
            "[[1, 2, [3, 4, 5, 6]], {\"k\": [7, 8, 9, 10, 11, 12]}, 13, \"s\\\",[{\", 14]",
            // Strings with commas, brackets and escaped quotes around the middle.
            r#"{"a": "[,{\"", "b": "\\", "c": ",,,,,,,,,,,,,,,,,,", "d": [",", "]"], "e": "\u005b"}"#,
            // Lines counted across the halves.
            "{\n \"a\": 1,\n \"b\": 2,\n \"c\": {\n  \"d\": 3,\n  \"d\": 4\n },\n \"e\": [\n 5,\n 6\n ]\n}\n",
        ];
        let mut handed = 0;
        for c in cases {
            handed += usize::from(same(c));
        }
        assert!(handed >= 3, "the hand-off was exercised {handed} times");
    }

    #[test]
    fn a_large_object_with_repeats_in_both_halves_keeps_them_in_order() {
        let mut text = String::from("{");
        for i in 0..400 {
            // Every 50th key repeats one of the first half's, and values hold repeats too.
            let key = if i % 50 == 49 { i / 3 } else { i };
            text.push_str(&format!(
                "\n\"k{key}\": {{\"v\": {i}, \"v\": [{i}, \"x,]\"]}},"
            ));
        }
        text.push_str("\n\"end\": null}");
        assert!(same(&text));
    }

    #[test]
    fn errors_anywhere_are_the_one_thread_errors() {
        let good =
            r#"{"a": [1, 2, {"b": "c"}], "d": {"e": [true, false, null]}, "f": "g", "h": [3, 4]}"#;
        let mut handed = 0;
        for cut in 0..good.len() {
            // Truncated, and one character replaced, at every position.
            same(&good[..cut]);
            for bad in ["}", "]", ",", "\"", "x", ":"] {
                let mut t = good.to_owned();
                t.replace_range(cut..cut + 1, bad);
                handed += usize::from(same(&t));
            }
        }
        assert!(handed > 0);
    }

    #[test]
    fn a_start_never_met_leaves_the_first_thread_reading_alone() {
        // Not JSON at the top (a `,` outside any container): no start is found.
        let (r, handed) = run("1, 2", "f", true);
        assert!(r.is_err());
        assert!(!handed);
    }
}
