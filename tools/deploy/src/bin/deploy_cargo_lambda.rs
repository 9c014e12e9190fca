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
//! MAX_BODY_BYTES, FUNCTION_PREFIX, KMS_KEY_ARN, and the standard AWS ones
//! (AWS_ENDPOINT_URL included).

use std::path::Path;
use std::process::ExitCode;

use deploy::cargo_lambda::{deploy, plan, policy, Purpose};
use intake::Provider;
use serde_json::{Map, Value};

const USAGE: &str = "usage: deploy-cargo-lambda plan|deploy|policy [VENDOR…]";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let purpose = match command.as_str() {
        "plan" | "deploy" => Purpose::Deploy,
        "policy" => Purpose::Policy,
        _ => return usage(),
    };
    let mut vendors = Vec::new();
    for name in args {
        match Provider::from_name(&name) {
            Some(provider) => vendors.push(provider),
            None => return usage(),
        }
    }
    if vendors.is_empty() {
        vendors = Provider::ALL.to_vec();
    }
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
    if command == "plan" {
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

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::FAILURE
}
