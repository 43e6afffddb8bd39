//! parallax-analyze: the model from CloudFormation, Terraform and AWS CLI JSON, the findings
//! on it, and the predicted matrix. It links no server: `predict` comes from `parallax-rules`.
//!
//! - [`predict`]: `parallax-rules`'s predict, re-exported.
//! - [`source`]: YAML and JSON read into one positioned tree.
//! - [`cfn`], [`terraform`], [`awscli`]: importers into [`imported::Imported`].
//! - [`findings`]: the rules, and text, JSON and SARIF output.
//! - [`input`]: reading inputs (regular files only, a size cap, every failure named).

pub mod awscli;
pub mod cfn;
pub mod findings;
pub mod imported;
pub mod input;
pub mod matrix;
pub mod runnable;
pub mod source;
pub mod terraform;

pub use parallax_rules::predict::{self, PredictRequest, Prediction, Predictor};

/// Reads every input (a CloudFormation template, a Terraform plan, or a folder of AWS CLI
/// outputs) and joins them. A file that cannot be read is reported and the others go on.
pub fn import_paths(paths: &[std::path::PathBuf]) -> imported::Imported {
    import_paths_with(paths, input::DEFAULT_MAX_INPUT)
}

/// [`import_paths`] with a cap on each file's size.
pub fn import_paths_with(paths: &[std::path::PathBuf], max_bytes: u64) -> imported::Imported {
    let mut all = imported::Imported::default();
    for p in paths {
        let file = p.display().to_string();
        if std::fs::metadata(p).is_ok_and(|m| m.is_dir()) {
            all.extend(awscli::import(p, max_bytes));
            continue;
        }
        let text = match input::read_text(p, max_bytes) {
            Ok(t) => t,
            Err(e) => {
                all.errors.push((
                    imported::Loc {
                        file,
                        line: 0,
                        resource: String::new(),
                    },
                    e.to_string(),
                ));
                continue;
            }
        };
        match source::parse(&text, &file) {
            Ok(root) if terraform::is_plan(&root) => all.extend(terraform::import(&root, &file)),
            Ok(root) => all.extend(cfn::import(&root, &file)),
            Err(e) => all.errors.push((
                imported::Loc {
                    file,
                    line: e.line,
                    resource: String::new(),
                },
                e.message,
            )),
        }
    }
    all
}
