//! parallax-analyze: the model without a packet. `predict` computes what a request will see;
//! (with the importers and findings of later commits) the same model comes from
//! CloudFormation, Terraform and AWS CLI JSON.
//!
//! - [`predict`]: the outcome of a request from a vantage point, pure.
//! - [`source`]: YAML and JSON read into one positioned tree.
//! - [`cfn`], [`terraform`], [`awscli`]: importers into [`imported::Imported`].
//! - [`findings`]: the rules, and text, JSON and SARIF output.

pub mod awscli;
pub mod cfn;
pub mod findings;
pub mod imported;
pub mod matrix;
pub mod predict;
pub mod runnable;
pub mod source;
pub mod terraform;

pub use predict::{PredictRequest, Prediction, Predictor};

/// Reads every input (a CloudFormation template, a Terraform plan, or a folder of AWS CLI
/// outputs) and joins them. A file that cannot be read is reported and the others go on.
pub fn import_paths(paths: &[std::path::PathBuf]) -> imported::Imported {
    let mut all = imported::Imported::default();
    for p in paths {
        let file = p.display().to_string();
        if p.is_dir() {
            all.extend(awscli::import(p));
            continue;
        }
        let text = match std::fs::read_to_string(p) {
            Ok(t) => t,
            Err(e) => {
                all.errors.push((
                    imported::Loc {
                        file,
                        line: 0,
                        resource: String::new(),
                    },
                    format!("cannot read: {e}"),
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
