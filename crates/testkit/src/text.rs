//! Checks on the words a report renders.

/// Fails when `text` (a rendered report, its JSON, an error line) carries Rust `Debug` output
/// instead of words: a failure that reached the page as `Other(..)`, `Some(..)` or a struct
/// dump was never rendered. `what` names the case in the failure message.
pub fn assert_no_debug_text(what: &str, text: &str) {
    for marker in [
        "Other(",
        "OtherError",
        "Error {",
        "Some(",
        "Context {",
        "None,",
    ] {
        assert!(
            !text.contains(marker),
            "{what}: Rust Debug output `{marker}` in:\n{text}"
        );
    }
}
