//! A snapshot: the answers of one account and Region under their CLI command names, and its
//! manifest; written to a folder whole or not at all, or handed to the AWS CLI reader in memory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::calls::{Call, Requests};

/// The manifest's schema name.
pub const SCHEMA: &str = "parallax.snapshot/v1";

/// The manifest's file name (not `manifest.json`, which is a CDK cloud assembly's).
pub const MANIFEST: &str = "parallax-manifest.json";

/// What a snapshot was read from, when, by whom, and how each call went.
#[derive(Clone, Debug, Serialize)]
pub struct Manifest {
    /// [`SCHEMA`].
    pub schema: String,
    /// The program that wrote it.
    pub tool: String,
    /// The account id.
    pub account: String,
    /// The Region.
    pub region: String,
    /// Who read it (STS GetCallerIdentity's ARN).
    pub principal: String,
    /// When reading began (RFC 3339, UTC).
    pub started: String,
    /// When reading ended.
    pub finished: String,
    /// Every call, by file.
    pub calls: Vec<Call>,
    /// What the SDK did, by operation: attempts, retries, throttled answers.
    pub requests: BTreeMap<String, Requests>,
}

/// One account and Region, read.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The manifest.
    pub manifest: Manifest,
    /// Each answer by its file name (`ec2-describe-vpc-endpoints.json`).
    pub files: BTreeMap<String, Value>,
}

/// Why a snapshot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The output folder exists and holds something that is not a snapshot.
    #[error(
        "{0}: exists and is not a parallax snapshot (no {MANIFEST}); give an empty or new folder"
    )]
    NotASnapshot(PathBuf),
    /// A filesystem call failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Snapshot {
    /// The files and manifest as `(name, pretty JSON)`, as written to a folder.
    pub fn texts(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .files
            .iter()
            .map(|(name, v)| (name.clone(), pretty(v)))
            .collect();
        out.push((MANIFEST.to_owned(), pretty(&self.manifest)));
        out
    }

    /// The answers parsed as the AWS CLI reader takes them, with the manifest; each named
    /// `aws:ACCOUNT:REGION/FILE` where a finding says where it comes from.
    pub fn responses(&self) -> Live {
        let mut nodes = BTreeMap::new();
        for (name, text) in self.texts() {
            // Our own serialisation parses: a failure would be a bug, and the reader then says
            // the file was not given rather than inventing anything.
            if let Ok(node) = parallax_analyze::source::parse(&text, &name) {
                nodes.insert(name, node);
            }
        }
        Live {
            nodes,
            origin: format!("aws:{}:{}", self.manifest.account, self.manifest.region),
        }
    }
}

/// A snapshot held in memory, read by the AWS CLI reader as a folder would be.
#[derive(Debug)]
pub struct Live {
    nodes: BTreeMap<String, parallax_analyze::source::Node>,
    origin: String,
}

impl parallax_analyze::awscli::Responses for Live {
    fn response(
        &self,
        name: &str,
        out: &mut parallax_analyze::imported::Imported,
    ) -> Option<(parallax_analyze::source::Node, String)> {
        self.nodes
            .response(name, out)
            .map(|(node, file)| (node, format!("{}/{file}", self.origin)))
    }

    fn named(&self, prefix: &str) -> Vec<(String, String)> {
        self.nodes.named(prefix)
    }

    fn given(&self, name: &str) -> Option<String> {
        self.nodes.given(name)
    }
}

fn pretty<T: Serialize>(v: &T) -> String {
    let mut text = serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

/// Writes snapshots under `out`: one snapshot's files directly in it, or several, each in
/// `ACCOUNT/REGION/`, with a top manifest listing them. Everything is written to a sibling
/// folder first and renamed into place, so `out` is either the old snapshot or the new one.
pub fn write(out: &Path, snapshots: &[Snapshot], failed: &[Value]) -> Result<(), WriteError> {
    if out.exists() {
        let empty = std::fs::read_dir(out).map_err(io(out))?.next().is_none();
        if !empty && !out.join(MANIFEST).is_file() {
            return Err(WriteError::NotASnapshot(out.to_owned()));
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "snapshot".to_owned());
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let result = stage(&staging, snapshots, failed).and_then(|()| swap(&staging, out));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

fn stage(staging: &Path, snapshots: &[Snapshot], failed: &[Value]) -> Result<(), WriteError> {
    let _ = std::fs::remove_dir_all(staging);
    std::fs::create_dir_all(staging).map_err(io(staging))?;
    let single = snapshots.len() == 1 && failed.is_empty();
    let mut listed = Vec::new();
    for s in snapshots {
        let dir = if single {
            staging.to_owned()
        } else {
            staging.join(&s.manifest.account).join(&s.manifest.region)
        };
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        for (file, text) in s.texts() {
            let path = dir.join(&file);
            std::fs::write(&path, text).map_err(io(&path))?;
        }
        listed.push(serde_json::json!({
            "account": s.manifest.account,
            "region": s.manifest.region,
            "path": format!("{}/{}", s.manifest.account, s.manifest.region),
        }));
    }
    if !single {
        let top = serde_json::json!({
            "schema": SCHEMA,
            "tool": format!("parallax {}", env!("CARGO_PKG_VERSION")),
            "snapshots": listed,
            "failed": failed,
        });
        let path = staging.join(MANIFEST);
        std::fs::write(&path, pretty(&top)).map_err(io(&path))?;
    }
    Ok(())
}

/// Puts the staged folder where the old one was; the old one is removed only after.
fn swap(staging: &Path, out: &Path) -> Result<(), WriteError> {
    if out.exists() {
        let old = staging.with_extension("old");
        std::fs::rename(out, &old).map_err(io(out))?;
        if let Err(e) = std::fs::rename(staging, out) {
            let _ = std::fs::rename(&old, out);
            return Err(io(out)(e));
        }
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
        Ok(())
    } else {
        std::fs::rename(staging, out).map_err(io(out))
    }
}
