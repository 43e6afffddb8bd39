//! YAML reading with positions: serde-saphyr's errors turned into [`Problem`]s that name
//! `file:line:column` and the field.

use serde::de::DeserializeOwned;

use crate::pos::Pos;
use crate::{LoadError, Problem};

/// Parses `text` into `T`, rejecting unknown fields (the types say `deny_unknown_fields`).
pub fn parse<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, LoadError> {
    serde_saphyr::from_str_with_options(text, options()).map_err(|e| {
        let (pos, field) = match e.location() {
            Some(loc) => {
                let pos = Pos::new(
                    u32::try_from(loc.line()).unwrap_or(u32::MAX),
                    u32::try_from(loc.column()).unwrap_or(u32::MAX),
                );
                (pos, field_at(text, pos))
            }
            None => (Pos::UNKNOWN, String::new()),
        };
        let message = strip_location(&e.without_snippet().to_string());
        LoadError::Invalid {
            origin: origin.to_owned(),
            problems: vec![Problem::new(pos, field, message)],
        }
    })
}

/// Events an input's aliases may replay in all: the bound on what anchors and aliases expand to
/// (an alias bomb's cost), not on how many aliases a file uses.
pub const MAX_REPLAYED_EVENTS: usize = 200_000;

/// YAML as people write it: anchors, aliases and merge keys (`<<: *common`) are accepted, as a
/// file written by PyYAML uses them; what aliases expand to is bounded by
/// [`MAX_REPLAYED_EVENTS`] instead of by the ratio of aliases to anchors (one anchor shared by
/// a thousand targets is a normal file, not an attack). serde-saphyr's other bounds (depth, size,
/// nodes, events) stay.
fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.enforce_alias_anchor_ratio = false;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.merge_keys = serde_saphyr::MergeKeyPolicy::Merge;
    options.alias_limits.max_total_replayed_events = MAX_REPLAYED_EVENTS;
    options
}

/// serde-saphyr appends ` at line L, column C` to its plain messages; the position is already
/// in front of ours.
fn strip_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(", column ") => msg[..i].to_owned(),
        _ => msg.to_owned(),
    }
}

/// The key whose value sits at `pos`: the `key:` on that line before the column, else the
/// nearest less-indented `key:` above (for items of a list).
fn field_at(text: &str, pos: Pos) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let Some(idx) = (pos.line as usize).checked_sub(1) else {
        return String::new();
    };
    let Some(line) = lines.get(idx) else {
        return String::new();
    };
    // Columns count characters; take them as such so a multi-byte character cannot split.
    let before: String = line
        .chars()
        .take((pos.column as usize).saturating_sub(1))
        .collect();
    if let Some(key) = key_of(&before).or_else(|| key_of(line)) {
        return key;
    }
    let indent = line.len() - line.trim_start().len();
    for above in lines[..idx].iter().rev() {
        let ind = above.len() - above.trim_start().len();
        if ind < indent
            && let Some(key) = key_of(above)
        {
            return key;
        }
    }
    String::new()
}

fn key_of(s: &str) -> Option<String> {
    let t = s.trim_start().trim_start_matches("- ").trim_start();
    let (key, _) = t.split_once(':')?;
    let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
    let ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    ok.then(|| key.to_owned())
}
