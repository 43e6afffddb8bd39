//! What was read but is not emulated, and what parallax does instead, by file and line.

use std::fmt;

/// Something read that parallax does not emulate, and what it does instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub file: String,
    pub line: u32,
    pub message: String,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}
