//! A change of what a target sees: the event the watcher emits and webhooks deliver.

use serde::Serialize;

/// A change of what a target sees.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    /// Seconds since the Unix epoch.
    pub time: f64,
    /// The target.
    pub target: String,
    /// What it saw before, if anything.
    pub before: Option<Seen>,
    /// What it sees now.
    pub after: Seen,
    /// The diagnosis's cause, in words.
    pub cause: String,
    /// The pinned retry's result, when one was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<bool>,
    /// The interface endpoint whose address answered (a topology that knows its network
    /// interfaces: `--topology`, `--aws`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// That endpoint's VPC (or the VPC of the zone that answered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc: Option<String>,
    /// The private hosted zone one of whose records holds the answered address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// The Route 53 Profile that carries that endpoint's or zone's names to the VPC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// What changed in the account (`--aws`) since the target's previous probe: the changes
    /// that may have made this one, each with its CloudTrail events where they were readable.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub account_changes: Vec<serde_json::Value>,
    /// What this event cannot say, and why (a front door or endpoint that needs a topology).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
}

/// What an event compares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Seen {
    /// The kind of DNS answer.
    pub dns: String,
    /// The front door reached.
    pub front_door: Option<String>,
    /// The diagnosis rule.
    pub diagnosis: String,
    /// The HTTP status.
    pub status: Option<u16>,
}

impl Seen {
    /// What a change is about (the status alone is not one).
    pub(crate) fn key(&self) -> (&str, Option<&str>, &str) {
        (&self.dns, self.front_door.as_deref(), &self.diagnosis)
    }
}
