//! Errors of the model crate. Each names what was wrong and where.

use std::fmt;
use std::path::PathBuf;

use crate::pos::Pos;

/// A malformed identifier or name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind}: expected {expected}")]
pub struct IdError {
    /// The type that rejected it (`ApiId`, `VpceId`, `Region`, ...).
    pub kind: &'static str,
    /// The value as it was given.
    pub value: String,
    /// The form expected, or for a Region the closest known code.
    pub expected: &'static str,
}

/// `ip-ranges.json` could not be read.
#[derive(Clone, Debug, thiserror::Error)]
#[error("ip-ranges.json line {line}, column {column}: {message}")]
pub struct IpRangesError {
    /// The line of the JSON error (1-based).
    pub line: usize,
    /// The column of the JSON error (1-based).
    pub column: usize,
    /// serde_json's description of the error.
    pub message: String,
}

/// One problem in a topology or scenario file: where, which field, what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file (line and column).
    pub pos: Pos,
    /// The field's path, as `endpoints[0].vpc`.
    pub field: String,
    /// What is wrong, in words.
    pub message: String,
}

impl Problem {
    /// A problem at `pos` with the field's path and the message.
    pub fn new(pos: Pos, field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            pos,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A topology or scenario file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read at all.
    #[error("{}: {error}", path.display())]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// Said in the message, and not a `source`: a report that prints the chain would say
        /// it twice.
        error: crate::input::InputError,
    },
    /// The file was read and has problems; every one found is listed.
    #[error("{}", Listing { origin, problems })]
    Invalid {
        /// The file's path, or a name such as `<embedded seed-incident.yaml>`.
        origin: String,
        /// Every problem found, in file order.
        problems: Vec<Problem>,
    },
}

impl LoadError {
    /// Every problem this error holds (one for a file that could not be read).
    pub fn problems(&self) -> &[Problem] {
        match self {
            LoadError::Read { .. } => &[],
            LoadError::Invalid { problems, .. } => problems,
        }
    }
}

struct Listing<'a> {
    origin: &'a str,
    problems: &'a [Problem],
}

impl fmt::Display for Listing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            if p.pos.is_known() {
                write!(f, "{}:{}: ", self.origin, p.pos)?;
            } else {
                write!(f, "{}: ", self.origin)?;
            }
            if !p.field.is_empty() {
                write!(f, "{}: ", p.field)?;
            }
            f.write_str(&p.message)?;
        }
        Ok(())
    }
}
