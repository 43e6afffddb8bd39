//! parallax-analyze: the model from CloudFormation, Terraform and AWS CLI JSON, the findings
//! on it, and the predicted matrix. It links no server: `predict` comes from `parallax-rules`.
//!
//! - [`predict`]: `parallax-rules`'s predict, re-exported.
//! - [`source`]: YAML and JSON read into one positioned tree (`parallax_model::source`, re-exported).
//! - [`cfn`], [`terraform`], [`awscli`]: importers into [`imported::Imported`].
//! - [`findings`]: the rules, and text, JSON and SARIF output.
//! - [`changes`]: two inputs compared: the changes that matter, the findings and outcomes they flip.
//! - [`cloudtrail`]: CloudTrail records read, and the events that made each change.
//! - [`hcl`]: where `.tf` files declare each resource, for findings on a plan.
//! - [`input`]: reading inputs (regular files only, a size cap, every failure named).

pub mod awscli;
pub mod cfn;
pub mod changes;
pub mod cloudtrail;
pub mod findings;
pub mod hcl;
pub mod imported;
pub mod input;
pub mod matrix;
pub mod runnable;
pub use parallax_model::source;
pub mod terraform;

pub use parallax_rules::predict::{self, PredictRequest, Prediction, Predictor};

/// How inputs are read.
#[derive(Clone, Debug)]
pub struct Options {
    /// The largest file read.
    pub max_bytes: u64,
    /// The Terraform configuration directory of the plans given (`--tf-dir`).
    pub tf_dir: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_bytes: input::DEFAULT_MAX_INPUT,
            tf_dir: None,
        }
    }
}

/// Reads every input (a CloudFormation template, a Terraform plan, or a folder of AWS CLI
/// outputs) and joins them. A file that cannot be read is reported and the others go on.
pub fn import_paths(paths: &[std::path::PathBuf]) -> imported::Imported {
    import_paths_opts(paths, &Options::default())
}

/// [`import_paths`] with a cap on each file's size.
pub fn import_paths_with(paths: &[std::path::PathBuf], max_bytes: u64) -> imported::Imported {
    import_paths_opts(
        paths,
        &Options {
            max_bytes,
            ..Options::default()
        },
    )
}

/// [`import_paths`] with [`Options`].
pub fn import_paths_opts(paths: &[std::path::PathBuf], opts: &Options) -> imported::Imported {
    let mut all = imported::Imported::default();
    for p in paths {
        if std::fs::metadata(p).is_ok_and(|m| m.is_dir()) {
            all.extend(import_folder(p, opts));
        } else {
            all.extend(import_file(p, opts));
        }
    }
    all
}

/// What kind of input a path is, when it is not one `analyze` reads: said, never passed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotAnInput {
    /// CDK source code (TypeScript, Python, Java, C#, Go).
    CdkSource,
    /// Terraform configuration without a plan.
    TerraformConfiguration,
}

impl std::fmt::Display for NotAnInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotAnInput::CdkSource => f.write_str(
                "this is CDK source code: run `cdk synth` and pass the cdk.out folder",
            ),
            NotAnInput::TerraformConfiguration => f.write_str(
                "this is Terraform configuration, not a plan: run `terraform plan -out plan.bin` and `terraform show -json plan.bin > plan.json`, then pass plan.json",
            ),
        }
    }
}

/// A folder: a CDK cloud assembly (`cdk.out`, by its `manifest.json`), Terraform
/// configuration (`*.tf`), or AWS CLI outputs.
fn import_folder(dir: &std::path::Path, opts: &Options) -> imported::Imported {
    let max_bytes = opts.max_bytes;
    if let Some(nested) = snapshots_of(dir, max_bytes) {
        return nested;
    }
    let manifest = dir.join("manifest.json");
    if input::present(&manifest) {
        return cdk_assembly(dir, &manifest, opts);
    }
    let has_tf = terraform::has_tf_files(dir);
    if has_tf && !awscli::holds_outputs(dir) {
        // Configuration with its plan's JSON beside it: the plans, read with this directory.
        let mut plans: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .filter(|p| {
                        input::read_text(p, max_bytes).is_ok_and(|t| {
                            source::parse(&t, "").is_ok_and(|root| terraform::is_plan(&root))
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        plans.sort();
        if !plans.is_empty() {
            let with_dir = Options {
                tf_dir: Some(opts.tf_dir.clone().unwrap_or_else(|| dir.to_path_buf())),
                ..opts.clone()
            };
            let mut out = imported::Imported::default();
            for p in plans {
                out.extend(import_file(&p, &with_dir));
            }
            return out;
        }
        let mut out = imported::Imported::default();
        out.errors.push((
            loc(dir.display().to_string(), 0),
            NotAnInput::TerraformConfiguration.to_string(),
        ));
        return out;
    }
    awscli::import(dir, max_bytes)
}

/// A folder of several snapshots (`parallax collect` over Regions or an organisation): its
/// top manifest lists each one's folder (`ACCOUNT/REGION`) and the accounts that could not be
/// read. Each snapshot is read as AWS CLI outputs; an account not read is an unknown.
fn snapshots_of(dir: &std::path::Path, max_bytes: u64) -> Option<imported::Imported> {
    let path = dir.join(awscli::MANIFEST);
    if !input::present(&path) {
        return None;
    }
    let file = path.display().to_string();
    let text = input::read_text(&path, max_bytes).ok()?;
    let top: serde_json::Value = serde_json::from_str(&text).ok()?;
    let listed = top.get("snapshots")?.as_array()?;
    let mut out = imported::Imported::default();
    for s in listed {
        let Some(sub) = s.get("path").and_then(serde_json::Value::as_str) else {
            out.errors.push((
                loc(file.clone(), 0),
                "a snapshot without its path".to_owned(),
            ));
            continue;
        };
        // Only folders below this one: a manifest must not send the reader elsewhere.
        let below = std::path::Path::new(sub)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !below {
            out.errors.push((
                loc(file.clone(), 0),
                format!("snapshot path {sub:?} is not a folder below the manifest's"),
            ));
            continue;
        }
        out.extend(awscli::import(&dir.join(sub), max_bytes));
    }
    for f in top
        .get("failed")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
    {
        let s = |k: &str| f.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
        out.unknowns.push((
            imported::Loc {
                file: file.clone(),
                line: 0,
                resource: format!("account {}", s("account")),
            },
            format!("not read: {}", s("error")),
        ));
    }
    Some(out)
}

/// One file: a CloudFormation template (JSON or YAML, SAM and CDK output included), a
/// Terraform plan, or an OpenAPI 3 or Swagger 2.0 definition (an API Gateway export); CDK source and `.tf` files are named for what they are.
fn import_file(p: &std::path::Path, opts: &Options) -> imported::Imported {
    let max_bytes = opts.max_bytes;
    let file = p.display().to_string();
    let mut out = imported::Imported::default();
    let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
    let text = match input::read_text(p, max_bytes) {
        Ok(t) => t,
        Err(e) => {
            out.errors.push((loc(file, 0), e.to_string()));
            return out;
        }
    };
    let not_an_input = match ext {
        "tf" => Some(NotAnInput::TerraformConfiguration),
        "ts" | "js" | "mjs" | "py" | "java" | "cs" | "go"
            if [
                "aws-cdk-lib",
                "aws_cdk",
                "software.amazon.awscdk",
                "Amazon.CDK",
                "aws-cdk-go",
                "@aws-cdk/",
            ]
            .iter()
            .any(|m| text.contains(m)) =>
        {
            Some(NotAnInput::CdkSource)
        }
        _ => None,
    };
    if let Some(what) = not_an_input {
        out.errors.push((loc(file, 1), what.to_string()));
        return out;
    }
    match source::parse_with_duplicates(&text, &file) {
        Ok((root, duplicates)) => {
            let mut out = if terraform::is_plan(&root) {
                terraform::import_with(&root, &file, opts.tf_dir.as_deref(), max_bytes)
            } else if cfn::is_definition_file(&root) {
                cfn::import_definition(&root, &file)
            } else {
                cfn::import_with(&root, &file, max_bytes)
            };
            out.duplicate_keys.extend(duplicates.into_iter().map(|d| {
                (
                    d.key,
                    loc(file.clone(), d.first_line),
                    loc(file.clone(), d.last_line),
                )
            }));
            drop_aside(root, text.len() >= ASIDE_FROM);
            out
        }
        Err(e) => {
            out.errors.push((loc(file, e.line), e.message));
            out
        }
    }
}

/// Frees a large input's tree (or another large structure: `big`) on a thread of its own: its
/// millions of small allocations took a third of a 100,000-resource plan's time (perf:
/// unlink_chunk, malloc_consolidate, _int_free), and nothing waits for them. Small ones are
/// freed here (a thread costs more than they do).
pub(crate) fn drop_aside<T: Send + 'static>(x: T, big: bool) {
    if !big {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("free-input".to_owned())
        .spawn(move || drop(x));
    // No thread to be had: the value went with the closure, freed here.
    drop(spawned);
}

/// Inputs this large have their tree freed aside ([`drop_aside`]).
const ASIDE_FROM: usize = 1 << 20;

/// Runs `side` on a thread of its own while `here` runs on this one, when `big` says the work
/// is worth a thread (a thread costs tens of microseconds) and more than one core is to be had;
/// else one after the other here. No thread to be had: `side` runs here. A panic in `side` is
/// this thread's, as if it had run here.
pub(crate) fn side_by_side<A: Send, B>(
    big: bool,
    side: impl FnOnce() -> A + Send,
    here: impl FnOnce() -> B,
) -> (A, B) {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if !big || cores < 2 {
        return (side(), here());
    }
    let slot = std::sync::Mutex::new(Some(side));
    std::thread::scope(|scope| {
        let other = std::thread::Builder::new()
            .name("import-side".to_owned())
            .spawn_scoped(scope, || {
                let side = slot.lock().ok().and_then(|mut s| s.take());
                side.map(|f| f())
            });
        let b = here();
        let a = match other.map(|h| h.join()) {
            Ok(Ok(Some(a))) => a,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            // Not started (or it never took its work): run it here.
            Ok(Ok(None)) | Err(_) => match slot.lock().ok().and_then(|mut s| s.take()) {
                Some(f) => f(),
                None => unreachable!("the side's work is taken only by the thread that runs it"),
            },
        };
        (a, b)
    })
}

/// Reads `items` with `read`, in two halves side by side when there are `side_from` or more:
/// the first half into `first` here, the second into the reader `side` makes, on a thread of its
/// own. Gives that second reader (`None` when all went into `first`), for the caller to join
/// after the first as reading in order would have left them.
pub(crate) fn in_halves<T: Sync, R: Send>(
    items: &[T],
    side_from: usize,
    first: &mut R,
    side: impl FnOnce() -> R + Send,
    read: impl Fn(&mut R, &[T]) + Sync,
) -> Option<R> {
    if items.len() < side_from {
        read(first, items);
        return None;
    }
    let (head, tail) = items.split_at(items.len() / 2);
    let read = &read;
    let (second, ()) = side_by_side(
        true,
        move || {
            let mut r = side();
            read(&mut r, tail);
            r
        },
        || read(first, head),
    );
    Some(second)
}

/// A CDK cloud assembly: every stack template its manifest lists, and the nested stacks'
/// templates those name by their asset path.
fn cdk_assembly(
    dir: &std::path::Path,
    manifest: &std::path::Path,
    opts: &Options,
) -> imported::Imported {
    let max_bytes = opts.max_bytes;
    let mut out = imported::Imported::default();
    let mfile = manifest.display().to_string();
    let m: serde_json::Value = match input::read_text(manifest, max_bytes)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("not JSON: {e}")))
    {
        Ok(v) => v,
        Err(why) => {
            out.errors.push((loc(mfile, 0), why));
            return out;
        }
    };
    let templates: Vec<String> = m
        .get("artifacts")
        .and_then(serde_json::Value::as_object)
        .map(|a| {
            a.values()
                .filter(|x| {
                    x.get("type").and_then(|t| t.as_str()) == Some("aws:cloudformation:stack")
                })
                .filter_map(|x| {
                    x.pointer("/properties/templateFile")?
                        .as_str()
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    if templates.is_empty() {
        out.errors.push((
            loc(mfile, 1),
            "a CDK manifest that lists no CloudFormation stack (artifacts of type aws:cloudformation:stack)".to_owned(),
        ));
        return out;
    }
    let mut queue: Vec<std::path::PathBuf> = templates.iter().map(|t| dir.join(t)).collect();
    let mut seen = std::collections::HashSet::new();
    while let Some(path) = queue.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let imported = import_file(&path, opts);
        // Nested stacks: the parent's AWS::CloudFormation::Stack names its template's asset.
        if let Ok(text) = input::read_text(&path, max_bytes)
            && let Ok(root) = source::parse(&text, &path.display().to_string())
        {
            for (_, res) in root
                .get("Resources")
                .map(source::Node::entries)
                .unwrap_or_default()
            {
                if res.get("Type").and_then(source::Node::as_str)
                    == Some("AWS::CloudFormation::Stack")
                    && let Some(asset) = res
                        .get("Metadata")
                        .and_then(|md| md.get("aws:asset:path"))
                        .and_then(source::Node::as_str)
                {
                    queue.push(dir.join(asset));
                }
            }
        }
        out.extend(imported);
    }
    out
}

fn loc(file: String, line: u32) -> imported::Loc {
    imported::Loc {
        file,
        line,
        resource: String::new(),
    }
}
