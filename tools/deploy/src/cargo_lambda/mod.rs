//! `make deploy-cargo-lambda` and `make cargo-lambda-policy`: the webhook
//! functions deployed with `cargo lambda deploy` behind function URLs, onto
//! queues, a stream, secrets and roles made elsewhere (Terraform, CDK), and
//! the least-privilege policy each function's role needs.
//!
//! Everything comes from variables ([`plan`]). Each function's environment
//! is checked by the function's own [`Config`] before anything is deployed:
//! a function URL is public, so one with neither a token nor an allowlist that
//! is a boundary is refused here (`ALLOW_UNAUTHENTICATED` is never passed on),
//! and so is any setting the function would refuse at init. With
//! `FALLBACK_QUEUE_URL` (and `FALLBACK_QUARANTINE_QUEUE_URL`, `FALLBACK_REGION`)
//! both functions spill to a second region's queues, and the policy names
//! exactly those queues (and `FALLBACK_KMS_KEY_ARNS` through SQS there).

use std::collections::BTreeMap;
use std::path::Path;

use intake::{Config, ConfigError, Provider};

mod policy;
pub use policy::policy;

/// What the template gives every function (template.yaml, `Globals`).
pub const MEMORY_MB: u32 = 256;
/// The function timeout, as in the template.
pub const TIMEOUT_SECONDS: u32 = 15;
/// The runtime, as in the template (the architecture, arm64, is the binary's:
/// `cargo lambda build --arm64`).
pub const RUNTIME: &str = "provided.al2023";
/// How long the function's log group keeps logs unless `LOG_RETENTION_DAYS`
/// says otherwise (the template's default).
const LOG_RETENTION_DAYS: &str = "365";
/// Reserved concurrency unless `RESERVED_CONCURRENCY` (or
/// `<VENDOR>_RESERVED_CONCURRENCY`) says otherwise: the template's default
/// (docs/capacity.md). A function URL has no throttle of its own and is
/// public: without a reservation anyone who finds it could take the
/// account's whole unreserved concurrency, throttling every other function.
pub const RESERVED_CONCURRENCY: u32 = 400;

/// The variables read, by name, so tests can give their own.
pub type Vars<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Why nothing was deployed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("{0} is required but not set")]
    Missing(String),
    #[error("{var} is malformed: {reason}")]
    Malformed { var: String, reason: String },
    /// Two functions on one role: each vendor's secret would be readable by
    /// the other's function, undoing the boundary per vendor.
    #[error(
        "{functions} would share the role {role}: give each its own (<VENDOR>_ROLE_ARN, each with only its own \
         vendor's secret), or set SHARED_ROLE=true to accept that each may read the other's secret"
    )]
    SharedRole { role: String, functions: String },
    /// What the function itself would refuse at init.
    #[error(
        "{function}: {error} (its SHARED_SECRET_ARN and ALLOWED_SOURCE_CIDRS are set through \
         {vendor}_SECRET_ARN and {vendor}_SOURCE_CIDRS)"
    )]
    Refused {
        function: String,
        vendor: String,
        error: ConfigError,
    },
}

/// One function to deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub provider: Provider,
    /// The Lambda function's name: `FUNCTION_PREFIX` and the binary's name.
    pub name: String,
    /// `<VENDOR>_ROLE_ARN`, else `ROLE_ARN`.
    pub role: String,
    /// Reserved concurrent executions; 0 reserves none.
    pub reserved_concurrency: u32,
    /// Exactly the environment the function gets.
    pub env: BTreeMap<&'static str, String>,
}

/// What the plan is for: a deployment needs the role; the role's policy is
/// printed before the role exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Deploy,
    Policy,
}

/// The functions for `vendors`, each checked as its init would check it;
/// every problem of every function, or none deployed.
pub fn plan(vendors: &[Provider], vars: Vars<'_>, purpose: Purpose) -> Result<Vec<Function>, Vec<PlanError>> {
    let var = |name: &str| vars(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let mut problems = Vec::new();
    let mut functions = Vec::new();
    let prefix = var("FUNCTION_PREFIX").unwrap_or_else(|| "webhook-".to_owned());
    for &provider in vendors {
        let vendor = provider.name().to_ascii_uppercase();
        let own = |what: &str| var(&format!("{vendor}_{what}"));
        let mut env = BTreeMap::new();
        for (name, value) in [
            ("QUEUE_URL", var("QUEUE_URL")),
            ("QUARANTINE_QUEUE_URL", var("QUARANTINE_QUEUE_URL")),
            ("ARCHIVE_STREAM", var("ARCHIVE_STREAM")),
            ("SHARED_SECRET_ARN", own("SECRET_ARN")),
            ("ALLOWED_SOURCE_CIDRS", own("SOURCE_CIDRS")),
            ("MAX_BODY_BYTES", var("MAX_BODY_BYTES")),
            ("PREVIOUS_TOKEN_GRACE", var("PREVIOUS_TOKEN_GRACE")),
            ("SQS_PREWARM", var("SQS_PREWARM")),
            // The second region's queues (docs/operations.md, "Two regions"),
            // the same for both functions.
            ("FALLBACK_QUEUE_URL", var("FALLBACK_QUEUE_URL")),
            ("FALLBACK_QUARANTINE_QUEUE_URL", var("FALLBACK_QUARANTINE_QUEUE_URL")),
            ("FALLBACK_REGION", var("FALLBACK_REGION")),
        ] {
            if let Some(value) = value {
                env.insert(name, value);
            }
        }
        // Nothing lost: a refused request needs somewhere to go.
        let mut found = Vec::new();
        if !env.contains_key("QUARANTINE_QUEUE_URL") {
            found.push(PlanError::Missing("QUARANTINE_QUEUE_URL".to_owned()));
        }
        let (role_var, role) = match own("ROLE_ARN") {
            Some(role) => (format!("{vendor}_ROLE_ARN"), Some(role)),
            None => ("ROLE_ARN".to_owned(), var("ROLE_ARN")),
        };
        match &role {
            _ if purpose == Purpose::Policy => {}
            None => found.push(PlanError::Missing(format!("{vendor}_ROLE_ARN (or ROLE_ARN)"))),
            Some(role) if !role.starts_with("arn:") => found.push(PlanError::Malformed {
                var: role_var,
                reason: format!("expected an IAM role ARN, got {role:?}"),
            }),
            Some(_) => {}
        }
        let (reserved_var, reserved) = match own("RESERVED_CONCURRENCY") {
            Some(value) => (format!("{vendor}_RESERVED_CONCURRENCY"), Some(value)),
            None => ("RESERVED_CONCURRENCY".to_owned(), var("RESERVED_CONCURRENCY")),
        };
        let reserved_concurrency = match reserved.map(|v| v.parse::<u32>()) {
            None => RESERVED_CONCURRENCY,
            Some(Ok(n)) => n,
            Some(Err(_)) => {
                found.push(PlanError::Malformed {
                    var: reserved_var,
                    reason: "expected a whole number (0 reserves none)".to_owned(),
                });
                0
            }
        };
        let name = format!("{prefix}{}", provider.name());
        if let Err(error) = Config::from_lookup(provider, |v| env.get(v).cloned()) {
            problems.push(PlanError::Refused {
                function: name.clone(),
                vendor: vendor.clone(),
                error,
            });
        }
        for problem in found {
            if !problems.contains(&problem) {
                problems.push(problem);
            }
        }
        functions.push(Function {
            provider,
            name,
            role: role.unwrap_or_default(),
            reserved_concurrency,
            env,
        });
    }
    if purpose == Purpose::Deploy && !var("SHARED_ROLE").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        problems.extend(shared_roles(&functions));
    }
    if problems.is_empty() {
        Ok(functions)
    } else {
        Err(problems)
    }
}

/// Every role more than one function would run as.
fn shared_roles(functions: &[Function]) -> Vec<PlanError> {
    let mut by_role: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for function in functions.iter().filter(|f| !f.role.is_empty()) {
        by_role.entry(&function.role).or_default().push(&function.name);
    }
    by_role
        .into_iter()
        .filter(|(_, names)| names.len() > 1)
        .map(|(role, names)| PlanError::SharedRole {
            role: role.to_owned(),
            functions: names.join(" and "),
        })
        .collect()
}

/// The environment file `cargo lambda deploy --env-file` reads (values hold
/// commas, which `--env-var` would split).
pub fn env_file(function: &Function) -> String {
    function.env.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

/// The `cargo lambda deploy` arguments for `function`.
pub fn deploy_args(function: &Function, env_file: &Path, vars: Vars<'_>) -> Vec<String> {
    let mut args: Vec<String> = [
        "lambda",
        "deploy",
        &function.name,
        "--binary-name",
        function.provider.name(),
        "--runtime",
        RUNTIME,
        "--memory",
        &MEMORY_MB.to_string(),
        "--timeout",
        &TIMEOUT_SECONDS.to_string(),
        "--tracing",
        "active",
        "--enable-function-url",
        "--role",
        &function.role,
        "--env-file",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(env_file.display().to_string());
    args.push("--log-retention".to_owned());
    args.push(vars("LOG_RETENTION_DAYS").unwrap_or_else(|| LOG_RETENTION_DAYS.to_owned()));
    if let Some(endpoint) = vars("AWS_ENDPOINT_URL").filter(|v| !v.is_empty()) {
        args.extend(["--endpoint-url".to_owned(), endpoint]);
    }
    args
}

/// Deploys `functions` one after the other with `cargo lambda deploy` (the
/// bootstraps built by `cargo lambda build --release --arm64`), then sets
/// JSON logging, which cargo-lambda has no flag for; returns each
/// function's URL. Environment files go to `dir`.
pub async fn deploy(functions: &[Function], vars: Vars<'_>, dir: &Path) -> Result<Vec<(String, String)>, String> {
    let lambda = aws_sdk_lambda::Client::new(&platform::aws::tool_config().await);
    let cargo = vars("CARGO").unwrap_or_else(|| "cargo".to_owned());
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut urls = Vec::new();
    for function in functions {
        let env_path = dir.join(format!("{}.env", function.name));
        std::fs::write(&env_path, env_file(function)).map_err(|e| format!("{}: {e}", env_path.display()))?;
        let args = deploy_args(function, &env_path, vars);
        eprintln!("$ cargo {}", args.join(" "));
        let status = std::process::Command::new(&cargo)
            .args(&args)
            .status()
            .map_err(|e| format!("could not run {cargo} lambda deploy: {e}"))?;
        if !status.success() {
            return Err(format!("cargo lambda deploy {} failed ({status})", function.name));
        }
        settled(&lambda, &function.name).await?;
        let logging = aws_sdk_lambda::types::LoggingConfig::builder()
            .log_format(aws_sdk_lambda::types::LogFormat::Json)
            // Never TRACE in production: the Lambda runtime would log every raw event.
            .application_log_level(aws_sdk_lambda::types::ApplicationLogLevel::Info)
            .system_log_level(aws_sdk_lambda::types::SystemLogLevel::Warn)
            .build();
        lambda
            .update_function_configuration()
            .function_name(&function.name)
            .logging_config(logging)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "{}: setting JSON logging: {}",
                    function.name,
                    aws_sdk_lambda::error::DisplayErrorContext(e)
                )
            })?;
        settled(&lambda, &function.name).await?;
        reserve(&lambda, function).await?;
        let url = lambda
            .get_function_url_config()
            .function_name(&function.name)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "{}: reading its URL: {}",
                    function.name,
                    aws_sdk_lambda::error::DisplayErrorContext(e)
                )
            })?;
        urls.push((function.name.clone(), url.function_url().to_owned()));
    }
    Ok(urls)
}

/// Sets the function's reserved concurrency (or removes it, for 0), and
/// says what it means for capacity.
async fn reserve(lambda: &aws_sdk_lambda::Client, function: &Function) -> Result<(), String> {
    let name = &function.name;
    let failed = |e: String| format!("{name}: setting its reserved concurrency: {e}");
    if function.reserved_concurrency == 0 {
        lambda
            .delete_function_concurrency()
            .function_name(name)
            .send()
            .await
            .map_err(|e| failed(aws_sdk_lambda::error::DisplayErrorContext(e).to_string()))?;
        eprintln!(
            "{name}: NO reserved concurrency (RESERVED_CONCURRENCY=0): it shares the account's unreserved pool, so \
             anyone who finds its public URL can take that pool from every other function, and a busy account can \
             refuse webhooks at the door (docs/capacity.md)"
        );
        return Ok(());
    }
    let reserved = i32::try_from(function.reserved_concurrency).map_err(|e| failed(e.to_string()))?;
    lambda
        .put_function_concurrency()
        .function_name(name)
        .reserved_concurrent_executions(reserved)
        .send()
        .await
        .map_err(|e| failed(aws_sdk_lambda::error::DisplayErrorContext(e).to_string()))?;
    eprintln!(
        "{name}: {reserved} reserved concurrent executions: at most that many at once, whoever calls its URL \
         (docs/capacity.md)"
    );
    Ok(())
}

/// Waits (at most a minute) until no update of the function is in progress:
/// Lambda refuses a configuration change while one is.
async fn settled(lambda: &aws_sdk_lambda::Client, name: &str) -> Result<(), String> {
    use aws_sdk_lambda::types::{LastUpdateStatus, State};
    for _ in 0..60 {
        let config = lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(|e| format!("{name}: {}", aws_sdk_lambda::error::DisplayErrorContext(e)))?;
        let busy = matches!(config.state(), Some(State::Pending))
            || matches!(config.last_update_status(), Some(LastUpdateStatus::InProgress));
        if !busy {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    Err(format!("{name}: still updating after a minute"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/events";
    pub(crate) const QUARANTINE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/quarantine";
    pub(crate) const FALLBACK_QUEUE: &str = "https://sqs.us-west-2.amazonaws.com/123456789012/events-west";
    pub(crate) const FALLBACK_QUARANTINE: &str = "https://us-west-2.queue.amazonaws.com/123456789012/quarantine-west";

    pub(crate) fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |var| pairs.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone())
    }

    pub(crate) fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("QUEUE_URL", QUEUE),
            ("QUARANTINE_QUEUE_URL", QUARANTINE),
            ("ARTEMIS_ROLE_ARN", "arn:aws:iam::123456789012:role/intake-artemis"),
            ("AMLYZE_ROLE_ARN", "arn:aws:iam::123456789012:role/intake-amlyze"),
            ("ARTEMIS_SOURCE_CIDRS", "203.0.113.0/24"),
            (
                "AMLYZE_SECRET_ARN",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:amlyze-token",
            ),
        ]
    }

    #[test]
    fn each_function_gets_only_its_own_vendors_boundary() {
        let lookup = vars(&base());
        let functions = plan(&[Provider::Artemis, Provider::Amlyze], &lookup, Purpose::Deploy).expect("a valid plan");
        let [artemis, amlyze] = &functions[..] else {
            panic!("two functions")
        };
        assert_eq!(artemis.name, "webhook-artemis");
        assert_eq!(
            artemis.env.get("ALLOWED_SOURCE_CIDRS").map(String::as_str),
            Some("203.0.113.0/24")
        );
        assert!(!artemis.env.contains_key("SHARED_SECRET_ARN"));
        assert!(amlyze
            .env
            .get("SHARED_SECRET_ARN")
            .is_some_and(|s| s.ends_with("amlyze-token")));
        assert!(!amlyze.env.contains_key("ALLOWED_SOURCE_CIDRS"));
        assert_eq!(env_file(artemis).lines().count(), artemis.env.len());
    }

    #[test]
    fn both_functions_get_the_fallback_queues() {
        let mut settings = base();
        settings.extend([
            ("FALLBACK_QUEUE_URL", FALLBACK_QUEUE),
            ("FALLBACK_QUARANTINE_QUEUE_URL", FALLBACK_QUARANTINE),
            ("FALLBACK_REGION", "us-west-2"),
        ]);
        let functions = plan(
            &[Provider::Artemis, Provider::Amlyze],
            &vars(&settings),
            Purpose::Deploy,
        )
        .expect("a valid plan");
        for function in &functions {
            assert_eq!(
                function.env.get("FALLBACK_QUEUE_URL").map(String::as_str),
                Some(FALLBACK_QUEUE)
            );
            assert_eq!(
                function.env.get("FALLBACK_QUARANTINE_QUEUE_URL").map(String::as_str),
                Some(FALLBACK_QUARANTINE)
            );
            assert_eq!(
                function.env.get("FALLBACK_REGION").map(String::as_str),
                Some("us-west-2")
            );
            assert!(env_file(function).contains(&format!("FALLBACK_QUEUE_URL={FALLBACK_QUEUE}\n")));
        }
        // Without them, nothing about a fallback.
        let functions = plan(&[Provider::Artemis], &vars(&base()), Purpose::Deploy).expect("a valid plan");
        assert!(!functions[0].env.keys().any(|k| k.starts_with("FALLBACK_")));
    }

    #[test]
    fn an_open_function_url_is_refused_whatever_allow_unauthenticated_says() {
        for extra in [
            vec![],
            vec![("ALLOW_UNAUTHENTICATED", "true")],
            vec![("AMLYZE_SOURCE_CIDRS", "0.0.0.0/0")],
        ] {
            let mut settings = base();
            settings.retain(|(k, _)| *k != "AMLYZE_SECRET_ARN");
            settings.extend(extra);
            let problems = plan(
                &[Provider::Artemis, Provider::Amlyze],
                &vars(&settings),
                Purpose::Deploy,
            )
            .expect_err("refused");
            assert!(
                matches!(&problems[..], [PlanError::Refused { function, error: ConfigError::Unauthenticated(_), .. }] if function == "webhook-amlyze"),
                "{problems:?}"
            );
        }
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let lookup = vars(&[("QUEUE_URL", "not a url"), ("ARTEMIS_SOURCE_CIDRS", "10.0.0.0/8")]);
        let problems = plan(&[Provider::Artemis], &lookup, Purpose::Deploy).expect_err("refused");
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|t| t.contains("QUARANTINE_QUEUE_URL")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("ROLE_ARN")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("QUEUE_URL is malformed")), "{text:?}");
        // The policy is printed before the role exists.
        let problems = plan(&[Provider::Artemis], &lookup, Purpose::Policy).expect_err("refused");
        assert!(
            !problems.iter().any(|p| p.to_string().contains("ROLE_ARN")),
            "{problems:?}"
        );
    }

    #[test]
    fn the_deploy_command_carries_the_templates_settings() {
        let mut settings = base();
        settings.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"));
        let lookup = vars(&settings);
        let functions = plan(&[Provider::Artemis], &lookup, Purpose::Deploy).expect("valid");
        let args = deploy_args(&functions[0], Path::new("/tmp/artemis.env"), &lookup).join(" ");
        for expected in [
            "deploy webhook-artemis --binary-name artemis",
            "--runtime provided.al2023",
            "--memory 256 --timeout 15 --tracing active --enable-function-url",
            "--role arn:aws:iam::123456789012:role/intake-artemis",
            "--env-file /tmp/artemis.env --log-retention 365",
            "--endpoint-url http://127.0.0.1:5000",
        ] {
            assert!(args.contains(expected), "{expected:?} in {args}");
        }
    }

    #[test]
    fn one_role_for_both_functions_is_refused_unless_allowed_by_name() {
        let mut settings = base();
        settings.retain(|(k, _)| !k.ends_with("_ROLE_ARN"));
        settings.push(("ROLE_ARN", "arn:aws:iam::123456789012:role/intake"));
        let both = [Provider::Artemis, Provider::Amlyze];
        let problems = plan(&both, &vars(&settings), Purpose::Deploy).expect_err("refused");
        assert!(
            matches!(&problems[..], [PlanError::SharedRole { functions, .. }] if functions == "webhook-artemis and webhook-amlyze"),
            "{problems:?}"
        );
        settings.push(("SHARED_ROLE", "true"));
        assert!(plan(&both, &vars(&settings), Purpose::Deploy).is_ok());
        // One function alone shares nothing.
        settings.pop();
        assert!(plan(&[Provider::Artemis], &vars(&settings), Purpose::Deploy).is_ok());
    }

    #[test]
    fn reserved_concurrency_is_the_templates_unless_set_per_vendor_or_for_all() {
        let both = [Provider::Artemis, Provider::Amlyze];
        let reserved = |extra: &[(&'static str, &'static str)]| {
            let mut settings = base();
            settings.extend_from_slice(extra);
            plan(&both, &vars(&settings), Purpose::Deploy)
                .map(|f| f.iter().map(|f| f.reserved_concurrency).collect::<Vec<_>>())
        };
        assert_eq!(reserved(&[]), Ok(vec![RESERVED_CONCURRENCY, RESERVED_CONCURRENCY]));
        assert_eq!(reserved(&[("RESERVED_CONCURRENCY", "50")]), Ok(vec![50, 50]));
        assert_eq!(
            reserved(&[("RESERVED_CONCURRENCY", "50"), ("AMLYZE_RESERVED_CONCURRENCY", "0")]),
            Ok(vec![50, 0])
        );
        let problems = reserved(&[("ARTEMIS_RESERVED_CONCURRENCY", "lots")]).expect_err("refused");
        assert!(
            matches!(&problems[..], [PlanError::Malformed { var, .. }] if var == "ARTEMIS_RESERVED_CONCURRENCY"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_malformed_role_is_reported_under_the_variable_it_came_from() {
        let mut settings = base();
        settings.retain(|(k, _)| *k != "AMLYZE_ROLE_ARN");
        settings.push(("AMLYZE_ROLE_ARN", "intake-amlyze"));
        let problems = plan(&[Provider::Amlyze], &vars(&settings), Purpose::Deploy).expect_err("refused");
        assert!(
            matches!(&problems[..], [PlanError::Malformed { var, .. }] if var == "AMLYZE_ROLE_ARN"),
            "{problems:?}"
        );
    }
}
