//! What was read but is not emulated, and what parallax does instead, by file and line.

use std::fmt;

/// Something read that parallax does not emulate, and what it does instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// The file that was read.
    pub file: String,
    /// The line in it (1-based).
    pub line: u32,
    /// What is not emulated and what parallax does instead.
    pub message: String,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}
