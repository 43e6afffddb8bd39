//! A model file as the commands take it: a scenario (a file with `steps:` or `topology:` at
//! its top level) or a bare topology, and the topology it stands for at a named step.

use std::path::Path;

use crate::error::LoadError;
use crate::scenario::Scenario;
use crate::topology::Topology;

/// What a model file holds.
#[derive(Debug)]
pub enum ModelFile {
    /// A scenario: a topology, steps that change it, and requests with expectations.
    Scenario(Box<Scenario>),
    /// A bare topology.
    Topology(Box<Topology>),
}

/// A step asked of a file that cannot give it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    /// The scenario has no step of that name.
    #[error("scenario `{scenario}` has no step `{step}` (steps: {})", known.join(", "))]
    NoSuchStep {
        /// The scenario's name.
        scenario: String,
        /// The step asked for.
        step: String,
        /// The steps the scenario has, in order.
        known: Vec<String>,
    },
    /// A bare topology has no steps.
    #[error("--step needs a scenario file (one with `steps:`)")]
    NotAScenario,
}

impl ModelFile {
    /// Reads a file: a scenario when a top-level line starts with `steps:` or `topology:`,
    /// else a bare topology.
    pub fn from_path(path: &Path) -> Result<ModelFile, LoadError> {
        let text = crate::input::read_config(path).map_err(|error| LoadError::Read {
            path: path.to_owned(),
            error,
        })?;
        ModelFile::from_yaml(&text, &path.display().to_string())
    }

    /// Whether the text is a scenario's: a top-level `steps:` or `topology:`.
    pub fn holds_scenario(text: &str) -> bool {
        text.lines()
            .any(|l| l.starts_with("steps:") || l.starts_with("topology:"))
    }

    /// The same from text; `origin` names it in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<ModelFile, LoadError> {
        Ok(if ModelFile::holds_scenario(text) {
            ModelFile::Scenario(Box::new(Scenario::from_yaml(text, origin)?))
        } else {
            ModelFile::Topology(Box::new(Topology::from_yaml(text, origin)?))
        })
    }

    /// The file at `path`, or the embedded seed scenario.
    pub fn path_or_seed(path: Option<&Path>) -> Result<ModelFile, LoadError> {
        match path {
            Some(p) => ModelFile::from_path(p),
            None => Ok(ModelFile::Scenario(Box::new(Scenario::seed()?))),
        }
    }

    /// The topology as it is after `step` (a scenario's starting topology without one).
    pub fn topology_at(self, step: Option<&str>) -> Result<Topology, StepError> {
        match (self, step) {
            (ModelFile::Scenario(s), Some(step)) => s
                .step_index(step)
                .and_then(|i| s.topology_at(i))
                .cloned()
                .ok_or_else(|| StepError::NoSuchStep {
                    scenario: s.name.to_string(),
                    step: step.to_owned(),
                    known: s.steps.iter().map(|s| s.name.value.clone()).collect(),
                }),
            (ModelFile::Scenario(s), None) => Ok(s.topology.clone()),
            (ModelFile::Topology(_), Some(_)) => Err(StepError::NotAScenario),
            (ModelFile::Topology(t), None) => Ok(*t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_named_or_refused() {
        let seed = || ModelFile::path_or_seed(None).expect("seed");
        assert!(seed().topology_at(Some("endpoint-added")).is_ok());
        let e = seed().topology_at(Some("nope")).expect_err("no such step");
        assert!(matches!(e, StepError::NoSuchStep { ref known, .. } if known.len() == 3));
        let bare = ModelFile::from_yaml(
            "region: us-east-1\nfront_doors: { regional: [52.94.133.10] }\n",
            "<bare>",
        )
        .expect("topology");
        assert!(matches!(
            bare.topology_at(Some("x")),
            Err(StepError::NotAScenario)
        ));
    }
}
