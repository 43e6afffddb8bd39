//! parallax-analyze: the model without a packet. `predict` computes what a request will see;
//! (with the importers and findings of later commits) the same model comes from
//! CloudFormation, Terraform and AWS CLI JSON.
//!
//! - [`predict`]: the outcome of a request from a vantage point, pure.

pub mod predict;

pub use predict::{PredictRequest, Prediction, Predictor};
