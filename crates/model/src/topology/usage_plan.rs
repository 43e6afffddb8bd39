//! Usage plans, their throttles, quotas and API keys (whose values are never printed).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::ApiId;
use crate::pos::At;

use super::vpc::yes;

/// A usage plan: throttle, quota, the stages it covers and its API keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsagePlan {
    /// The plan's id.
    pub id: At<String>,
    /// Requests per second and burst, per key.
    #[serde(default)]
    pub throttle: Option<Throttle>,
    /// Requests per period, per key.
    #[serde(default)]
    pub quota: Option<Quota>,
    /// The API stages the plan covers.
    pub stages: Vec<PlanStage>,
    /// The API keys in the plan.
    #[serde(default)]
    pub keys: Vec<ApiKey>,
}

/// A token bucket: a steady rate and a burst.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    /// Steady requests per second.
    pub rate: f64,
    /// Bucket size.
    pub burst: u32,
}

/// A number of requests per period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Requests allowed in a period.
    pub limit: u64,
    /// The period.
    pub period: QuotaPeriod,
    /// Requests already counted at the start (AWS's `offset`).
    #[serde(default)]
    pub offset: u64,
}

/// The period of a quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum QuotaPeriod {
    /// A UTC day.
    Day,
    /// A week starting on Monday (UTC).
    Week,
    /// A calendar month (UTC).
    Month,
}

/// An API stage a plan covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanStage {
    /// The API.
    pub api: At<ApiId>,
    /// The stage.
    pub stage: At<String>,
}

/// An API key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    /// The key's id.
    pub id: At<String>,
    /// The key's value, never shown in reports.
    pub value: Secret,
    /// Whether the key is enabled.
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// A secret (an API key's value). Never printed: `Debug`, `Display` and serialisation redact it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The value itself, for the one place that compares it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}
