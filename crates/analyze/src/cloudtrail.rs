//! CloudTrail: who made a change, and when. Reads log files as CloudTrail delivers them to S3
//! (`{"Records": [...]}`, gzipped or not, in a folder tree such as
//! `AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`) and the output of
//! `aws cloudtrail lookup-events` (`{"Events": [{"CloudTrailEvent": "<record as a string>"}]}`),
//! and finds, for each change of [`crate::changes`], the management events that made it.
//!
//! A record's fields are CloudTrail's (CloudTrail User Guide, "CloudTrail record contents"):
//! `eventName`, `eventSource`, `eventTime`, `userIdentity.arn`, `sourceIPAddress`, `userAgent`,
//! `requestParameters`, `responseElements`, `errorCode`. A call that failed (`errorCode`)
//! changed nothing and is passed over. The event names that can make each change come from the
//! services' API references.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::changes::Change;
use crate::input::{self, InputError};

/// How many files a folder may hold before it is refused (a whole bucket is not a trail).
pub const MAX_FILES: usize = 10_000;

/// One management event that made a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// `eventName` (`CreateVpcEndpoint`).
    pub name: String,
    /// `eventSource` (`ec2.amazonaws.com`).
    pub source: String,
    /// `eventTime`, as CloudTrail writes it (ISO 8601, UTC).
    pub time: String,
    /// `userIdentity.arn`: who made the call, when CloudTrail names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// `sourceIPAddress`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// `userAgent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// `requestParameters`, as recorded.
    pub parameters: Value,
    /// `responseElements`, kept to find the ids a call created (not reported).
    #[serde(skip)]
    response: Value,
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at {} ({}",
            self.principal.as_deref().unwrap_or("an unnamed principal"),
            self.time,
            self.name
        )?;
        if let Some(ip) = &self.source_ip {
            write!(f, " from {ip}")?;
        }
        if let Some(ua) = &self.user_agent {
            write!(f, ", {ua}")?;
        }
        f.write_str(")")
    }
}

/// Why a CloudTrail input cannot be read.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum TrailError {
    /// A file that cannot be read (or inflated).
    #[error("{}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: InputError,
    },
    /// A file that is not JSON.
    #[error("{}:{line}: not JSON: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The line of the error.
        line: usize,
        /// serde_json's words.
        message: String,
    },
    /// JSON that is neither `{"Records": [...]}` nor lookup-events output.
    #[error("{}: neither CloudTrail log records ({{\"Records\": [...]}}) nor `aws cloudtrail lookup-events` output ({{\"Events\": [...]}})", path.display())]
    NotCloudTrail {
        /// The file.
        path: PathBuf,
    },
    /// A folder that cannot be listed.
    #[error("{}: cannot list: {error}", path.display())]
    List {
        /// The folder.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A folder with more files than a trail is read for.
    #[error("{}: more than {MAX_FILES} files", path.display())]
    TooManyFiles {
        /// The folder.
        path: PathBuf,
    },
}

/// Every successful event of a file or a folder tree (files ending `.json` or `.json.gz`),
/// oldest first; every file that cannot be read is an error of its own.
pub fn read(path: &Path, max_bytes: u64) -> (Vec<Event>, Vec<TrailError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        collect_files(path, &mut files, &mut errors);
    } else {
        files.push(path.to_path_buf());
    }
    let mut events = Vec::new();
    for f in files {
        match read_file(&f, max_bytes) {
            Ok(mut e) => events.append(&mut e),
            Err(e) => errors.push(e),
        }
    }
    events.sort_by(|a, b| a.time.cmp(&b.time));
    (events, errors)
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<TrailError>) {
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(error) => {
                errors.push(TrailError::List { path: d, error });
                continue;
            }
        };
        let mut here: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        here.sort();
        for p in here {
            // Not followed: a symlinked directory could loop.
            let is_dir = std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir());
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            if is_dir {
                pending.push(p);
            } else if name.is_some_and(|n| n.ends_with(".json") || n.ends_with(".json.gz")) {
                if files.len() == MAX_FILES {
                    errors.push(TrailError::TooManyFiles {
                        path: dir.to_path_buf(),
                    });
                    return;
                }
                files.push(p);
            }
        }
    }
}

fn read_file(path: &Path, max_bytes: u64) -> Result<Vec<Event>, TrailError> {
    let gz = path.extension().is_some_and(|x| x == "gz");
    let text = if gz {
        input::read_gzip_text(path, max_bytes)
    } else {
        input::read_text(path, max_bytes)
    }
    .map_err(|error| TrailError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    parse(&text, path)
}

/// The successful events of one file's text (CloudTrail records or lookup-events output);
/// `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Event>, TrailError> {
    let json = |text: &str| {
        serde_json::from_str::<Value>(text).map_err(|e| TrailError::Json {
            path: path.to_path_buf(),
            line: e.line(),
            message: e.to_string(),
        })
    };
    let root = json(text)?;
    let records: Vec<Value> = if let Some(Value::Array(records)) = root.get("Records") {
        records.clone()
    } else if let Some(Value::Array(events)) = root.get("Events") {
        // lookup-events: each event's record is a JSON string.
        let mut out = Vec::new();
        for e in events {
            if let Some(Value::String(record)) = e.get("CloudTrailEvent") {
                out.push(json(record)?);
            }
        }
        out
    } else {
        return Err(TrailError::NotCloudTrail {
            path: path.to_path_buf(),
        });
    };
    Ok(records.iter().filter_map(event).collect())
}

/// A record as an event; `None` for a call that failed.
fn event(r: &Value) -> Option<Event> {
    if r.get("errorCode").is_some_and(|c| !c.is_null()) {
        return None;
    }
    let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(Event {
        name: s("eventName")?,
        source: s("eventSource").unwrap_or_default(),
        time: s("eventTime").unwrap_or_default(),
        principal: r
            .get("userIdentity")
            .and_then(|u| u.get("arn"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        source_ip: s("sourceIPAddress"),
        user_agent: s("userAgent"),
        parameters: r.get("requestParameters").cloned().unwrap_or(Value::Null),
        response: r.get("responseElements").cloned().unwrap_or(Value::Null),
    })
}

/// The events that made `change`: of the API calls that can make it, those whose parameters
/// or response name every resource the change names; oldest first.
pub fn attribute<'e>(change: &Change, events: &'e [Event]) -> Vec<&'e Event> {
    let (names, ids) = calls_and_ids(change);
    events
        .iter()
        .filter(|e| names.contains(&e.name.as_str()))
        .filter(|e| {
            ids.iter()
                .all(|id| names_id(&e.parameters, id) || names_id(&e.response, id))
        })
        .collect()
}

/// The API calls (CloudTrail event names) that can make `change`.
pub fn calls_for(change: &Change) -> &'static [&'static str] {
    calls_and_ids(change).0
}

/// The API calls that can make a change, and the ids a call must name to be the one.
fn calls_and_ids(change: &Change) -> (&'static [&'static str], Vec<String>) {
    const ENDPOINT_CREATE: &[&str] = &["CreateVpcEndpoint"];
    const ENDPOINT_DELETE: &[&str] = &["DeleteVpcEndpoints"];
    const ENDPOINT_MODIFY: &[&str] = &["ModifyVpcEndpoint"];
    const ZONE_CREATE: &[&str] = &["CreateHostedZone"];
    const ZONE_DELETE: &[&str] = &["DeleteHostedZone"];
    const ZONE_ASSOCIATE: &[&str] = &["AssociateVPCWithHostedZone", "CreateHostedZone"];
    const ZONE_DISASSOCIATE: &[&str] = &["DisassociateVPCFromHostedZone"];
    const RECORDS: &[&str] = &["ChangeResourceRecordSets"];
    const RULE_CREATE: &[&str] = &["CreateResolverRule"];
    const RULE_DELETE: &[&str] = &["DeleteResolverRule"];
    const RULE_UPDATE: &[&str] = &["UpdateResolverRule"];
    const RULE_ASSOCIATE: &[&str] = &["AssociateResolverRule"];
    const RULE_DISASSOCIATE: &[&str] = &["DisassociateResolverRule"];
    const API_CREATE: &[&str] = &["CreateRestApi", "ImportRestApi", "CreateApi", "ImportApi"];
    const API_DELETE: &[&str] = &["DeleteRestApi", "DeleteApi"];
    const API_UPDATE: &[&str] = &["UpdateRestApi", "PutRestApi", "UpdateApi", "ReimportApi"];
    const DOMAIN_CREATE: &[&str] = &["CreateDomainName"];
    const DOMAIN_DELETE: &[&str] = &["DeleteDomainName"];
    const DOMAIN_UPDATE: &[&str] = &[
        "UpdateDomainName",
        "CreateBasePathMapping",
        "UpdateBasePathMapping",
        "DeleteBasePathMapping",
        "CreateApiMapping",
        "UpdateApiMapping",
        "DeleteApiMapping",
        "CreateDomainNameAccessAssociation",
        "DeleteDomainNameAccessAssociation",
        "RejectDomainNameAccessAssociation",
    ];
    const PROFILE_ASSOCIATE: &[&str] = &["AssociateProfile"];
    const PROFILE_DISASSOCIATE: &[&str] = &["DisassociateProfile"];
    const PROFILE_RESOURCE_ADD: &[&str] = &["AssociateResourceToProfile"];
    const PROFILE_RESOURCE_REMOVE: &[&str] = &["DisassociateResourceFromProfile"];
    let one = |id: &str| vec![id.to_owned()];
    match change {
        Change::EndpointAdded { endpoint, .. } => (ENDPOINT_CREATE, one(endpoint)),
        Change::EndpointRemoved { endpoint, .. } => (ENDPOINT_DELETE, one(endpoint)),
        Change::EndpointPrivateDns { endpoint, .. } | Change::EndpointPolicy { endpoint } => {
            (ENDPOINT_MODIFY, one(endpoint))
        }
        // A zone's id is AWS's answer to CreateHostedZone: `/hostedzone/Z…` in the response.
        Change::ZoneAdded { zone, .. } => (ZONE_CREATE, one(zone)),
        Change::ZoneRemoved { zone, .. } => (ZONE_DELETE, one(zone)),
        Change::ZoneAssociated { zone, vpc } => (ZONE_ASSOCIATE, vec![zone.clone(), vpc.clone()]),
        Change::ZoneDisassociated { zone, vpc } => {
            (ZONE_DISASSOCIATE, vec![zone.clone(), vpc.clone()])
        }
        Change::Record { zone, name, .. } => (RECORDS, vec![zone.clone(), name.clone()]),
        Change::RuleAdded { rule, .. } => (RULE_CREATE, one(rule)),
        Change::RuleRemoved { rule, .. } => (RULE_DELETE, one(rule)),
        Change::RuleChanged { rule } => (RULE_UPDATE, one(rule)),
        Change::RuleAssociated { rule, vpc } => (RULE_ASSOCIATE, vec![rule.clone(), vpc.clone()]),
        Change::RuleDisassociated { rule, vpc } => {
            (RULE_DISASSOCIATE, vec![rule.clone(), vpc.clone()])
        }
        Change::ApiAdded { api, .. } => (API_CREATE, one(api)),
        Change::ApiRemoved { api } => (API_DELETE, one(api)),
        Change::ApiEndpointType { api, .. }
        | Change::ApiPolicy { api }
        | Change::ApiDefaultEndpoint { api, .. }
        | Change::ApiVpcEndpoints { api, .. } => (API_UPDATE, one(api)),
        Change::DomainAdded { domain } => (DOMAIN_CREATE, one(domain)),
        Change::DomainRemoved { domain } => (DOMAIN_DELETE, one(domain)),
        Change::DomainChanged { domain } => (DOMAIN_UPDATE, one(domain)),
        Change::ProfileAssociated { profile, vpc } => {
            (PROFILE_ASSOCIATE, vec![profile.clone(), vpc.clone()])
        }
        Change::ProfileDisassociated { profile, vpc } => {
            (PROFILE_DISASSOCIATE, vec![profile.clone(), vpc.clone()])
        }
        Change::ProfileResourceAdded { profile, .. } => (PROFILE_RESOURCE_ADD, one(profile)),
        Change::ProfileResourceRemoved { profile, .. } => (PROFILE_RESOURCE_REMOVE, one(profile)),
    }
}

/// Whether any string in `v` names `id`: equal to it (a record name with or without its final
/// dot, in any case), or ending in `/id` or `:id` (a `/hostedzone/Z…` path, an ARN).
fn names_id(v: &Value, id: &str) -> bool {
    match v {
        Value::String(s) => {
            let s = s.trim_end_matches('.');
            let id = id.trim_end_matches('.');
            s.eq_ignore_ascii_case(id)
                || s.strip_suffix(id)
                    .is_some_and(|head| head.ends_with('/') || head.ends_with(':'))
        }
        Value::Array(items) => items.iter().any(|x| names_id(x, id)),
        Value::Object(map) => map.values().any(|x| names_id(x, id)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_named_whole_not_as_substrings() {
        let v = serde_json::json!({"a": ["/hostedzone/Z0123", {"b": "arn:aws:ec2:us-east-1:1:vpc-endpoint/vpce-1"}]});
        assert!(names_id(&v, "Z0123"));
        assert!(names_id(&v, "vpce-1"));
        assert!(!names_id(&v, "Z012"));
        assert!(!names_id(&v, "pce-1"));
        assert!(names_id(
            &serde_json::json!("API.Example.com."),
            "api.example.com"
        ));
    }
}
