//! Source positions carried by every element of a topology, so that an error or a finding can
//! say `file:line` instead of "somewhere in your file".

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A line and column (both 1-based) in the file an element was read from. `line == 0` means the
/// element was built in code (by a scenario change or an importer) and has no position of its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// The line, 1-based; 0 when unknown.
    pub line: u32,
    /// The column, 1-based; 0 when unknown.
    pub column: u32,
}

impl Pos {
    /// The position of an element that was not read from a file.
    pub const UNKNOWN: Pos = Pos { line: 0, column: 0 };

    /// A position at `line` and `column`.
    pub fn new(line: u32, column: u32) -> Self {
        Pos { line, column }
    }

    /// Whether the position points into a file.
    pub fn is_known(self) -> bool {
        self.line != 0
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_known() {
            write!(f, "{}:{}", self.line, self.column)
        } else {
            f.write_str("?")
        }
    }
}

/// A value with the position it was read from. Equality and hashing look at the value only: two
/// topologies that say the same thing are equal wherever they say it.
#[derive(Clone, Debug)]
pub struct At<T> {
    /// The value.
    pub value: T,
    /// Where it was read.
    pub pos: Pos,
}

impl<T> At<T> {
    /// A value read at `pos`.
    pub fn new(value: T, pos: Pos) -> Self {
        At { value, pos }
    }

    /// A value made in code, with no position.
    pub fn bare(value: T) -> Self {
        At {
            value,
            pos: Pos::UNKNOWN,
        }
    }
}

impl<T> std::ops::Deref for At<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: PartialEq> PartialEq for At<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for At<T> {}

impl<T: fmt::Display> fmt::Display for At<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: Serialize> Serialize for At<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for At<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<T>::deserialize(deserializer)?;
        let loc = spanned.referenced;
        Ok(At {
            value: spanned.value,
            pos: Pos::new(
                u32::try_from(loc.line()).unwrap_or(u32::MAX),
                u32::try_from(loc.column()).unwrap_or(u32::MAX),
            ),
        })
    }
}
