//! Deploys the webhook functions with cargo-lambda behind function URLs, or
//! prints the policy each one's role needs (see `deploy::cargo_lambda`):
//!
//!   deploy-cargo-lambda plan [VENDOR…]     (each function's environment, checked; nothing deployed)
//!   deploy-cargo-lambda deploy [VENDOR…]   (make deploy-cargo-lambda: plan, build, then this)
//!   deploy-cargo-lambda policy [VENDOR…]   (make cargo-lambda-policy)
//!
//! Settings come from variables: QUEUE_URL, QUARANTINE_QUEUE_URL,
//! ARCHIVE_STREAM, <VENDOR>_SECRET_ARN, <VENDOR>_SOURCE_CIDRS,
//! <VENDOR>_ROLE_ARN (or ROLE_ARN, for one function or with SHARED_ROLE=true),
//! RESERVED_CONCURRENCY (or <VENDOR>_RESERVED_CONCURRENCY; default 400),
//! MAX_BODY_BYTES, FUNCTION_PREFIX, KMS_KEY_ARN, the second region's
//! FALLBACK_QUEUE_URL, FALLBACK_QUARANTINE_QUEUE_URL, FALLBACK_REGION (and
//! FALLBACK_KMS_KEY_ARNS for the policy), and the standard AWS ones
//! (AWS_ENDPOINT_URL included).

use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use deploy::cargo_lambda::{deploy, plan, policy, Purpose};
use intake::Provider;
use serde_json::{Map, Value};

/// Deploys the webhook functions with cargo-lambda behind function URLs, or
/// prints the policy each one's role needs. Settings come from variables
/// (docs/operations.md, "Deploying with cargo-lambda").
#[derive(Parser)]
#[command(name = "deploy-cargo-lambda")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Each function's environment, checked; nothing deployed.
    Plan(Vendors),
    /// Deploy (make deploy-cargo-lambda: plan, build, then this).
    Deploy(Vendors),
    /// The least-privilege policy of each function's role (make cargo-lambda-policy).
    Policy(Vendors),
}

#[derive(clap::Args)]
struct Vendors {
    /// The vendors (default: all of them).
    #[arg(value_name = "VENDOR", value_parser = vendor)]
    vendors: Vec<Provider>,
}

fn vendor(name: &str) -> Result<Provider, String> {
    Provider::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = Provider::ALL.iter().map(|p| p.name()).collect();
        format!("not a vendor; one of {}", known.join(", "))
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let command = Args::parse().command;
    let plan_only = matches!(command, Command::Plan(_));
    let (purpose, Vendors { vendors }) = match command {
        Command::Plan(vendors) | Command::Deploy(vendors) => (Purpose::Deploy, vendors),
        Command::Policy(vendors) => (Purpose::Policy, vendors),
    };
    let vendors = if vendors.is_empty() {
        Provider::ALL.to_vec()
    } else {
        vendors
    };
    let vars = |name: &str| std::env::var(name).ok();
    let functions = match plan(&vendors, &vars, purpose) {
        Ok(functions) => functions,
        Err(problems) => {
            eprintln!("deploy-cargo-lambda: nothing deployed, because:");
            for problem in problems {
                eprintln!("  - {problem}");
            }
            return ExitCode::FAILURE;
        }
    };
    if plan_only {
        for function in &functions {
            println!("{} (role {}):", function.name, function.role);
            for (name, value) in &function.env {
                println!("  {name}={value}");
            }
        }
        return ExitCode::SUCCESS;
    }
    if purpose == Purpose::Policy {
        let mut policies = Map::new();
        for function in &functions {
            match policy(function, &vars) {
                Ok(document) => policies.insert(function.name.clone(), document),
                Err(err) => {
                    eprintln!("deploy-cargo-lambda: {err}");
                    return ExitCode::FAILURE;
                }
            };
        }
        // One function: the document itself, ready for `aws iam put-role-policy`.
        let output = match policies.len() {
            1 => policies.into_iter().next().map(|(_, doc)| doc).unwrap_or_default(),
            _ => Value::Object(policies),
        };
        println!("{}", serde_json::to_string_pretty(&output).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    match deploy(&functions, &vars, Path::new("target/lambda/deploy-env")).await {
        Ok(urls) => {
            for (name, url) in urls {
                println!("{name}: {url}");
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("deploy-cargo-lambda: {err}");
            ExitCode::FAILURE
        }
    }
}
