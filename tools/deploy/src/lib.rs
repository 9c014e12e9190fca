//! Deployment tools: [`cargo_lambda`] (`make deploy-cargo-lambda`, `make
//! cargo-lambda-policy`: the webhook functions without SAM) and [`verify`]
//! (`make verify`: a deployed stack proves itself with one probe per vendor).
//!
//! Apart from the operator tools for their SDKs (Lambda, CloudFormation,
//! Secrets Manager) and their HTTPS client, which the local stack never needs.

pub mod cargo_lambda;
pub mod verify;
