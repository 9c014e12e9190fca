//! `make deploy-cargo-lambda` end to end against moto's Lambda API: the
//! target run as an operator runs it (with `AWS_ENDPOINT_URL` set), the
//! arm64 bootstraps `make test` built, and each function read back as moto
//! reports it: architecture, runtime, handler, memory and timeout (the
//! template's), environment (exactly the vendor's own), X-Ray, and a
//! function URL with auth type NONE that anyone may invoke. The second
//! region's queues (FALLBACK_*) reach both functions alike. An open
//! configuration is refused before anything is created.
//!
//! Not checked here: JSON logging, which the target sets but moto 5.2
//! neither stores nor reports.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_sdk_lambda::types::{Architecture, FunctionUrlAuthType, Runtime, TracingMode};
use harness::{secrets, Moto};

const QUEUE: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/intake-events";
const QUARANTINE: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/intake-quarantine";
const ARTEMIS_RANGES: &str = "203.0.113.0/24,2001:db8::/48";
const FALLBACK_QUEUE: &str = "https://sqs.us-west-2.amazonaws.com/123456789012/intake-events-west";
const FALLBACK_QUARANTINE: &str = "https://sqs.us-west-2.amazonaws.com/123456789012/intake-quarantine-west";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `make TARGET` in the repository, against moto, with `vars`.
fn make(target: &str, endpoint: &str, vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new("make");
    command.arg("--no-print-directory").arg("-C").arg(root()).arg(target);
    // As from a shell: not what cargo sets for this test (ring's build script
    // reads CARGO_MANIFEST_DIR, so the nested builds would not find `make
    // test`'s fresh and would build again), nor the outer make's jobserver,
    // nor an operator's own AWS settings.
    for (var, _) in std::env::vars_os() {
        let name = var.to_string_lossy();
        let set_by_cargo = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
            || matches!(
                &*name,
                "CARGO" | "CARGO_TARGET_TMPDIR" | "CARGO_PRIMARY_PACKAGE" | "LD_LIBRARY_PATH" | "RUST_RECURSION_COUNT"
            );
        if set_by_cargo {
            command.env_remove(&var);
        }
    }
    for var in [
        "MAKEFLAGS",
        "MFLAGS",
        "MAKELEVEL",
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "ROLE_ARN",
        "ARTEMIS_ROLE_ARN",
        "AMLYZE_ROLE_ARN",
        "SHARED_ROLE",
        "RESERVED_CONCURRENCY",
        "FUNCTION_PREFIX",
        "FALLBACK_QUEUE_URL",
        "FALLBACK_QUARANTINE_QUEUE_URL",
        "FALLBACK_REGION",
        "FALLBACK_KMS_KEY_ARNS",
    ] {
        command.env_remove(var);
    }
    command
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .envs(vars.iter().copied());
    command.output().expect("make runs")
}

async fn lambda(endpoint: &str) -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::new(&harness::sqs::local_config(platform::aws::sdk_defaults(), endpoint).await)
}

/// A role in moto's IAM, which moto's Lambda requires to exist (IAM's query
/// API, unsigned: moto reads the service from the credential scope).
async fn create_role(endpoint: &str, name: &str) -> String {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let encoded: String = trust
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let body = format!("Action=CreateRole&Version=2010-05-08&RoleName={name}&AssumeRolePolicyDocument={encoded}");
    let request = hyper::Request::post(format!("{endpoint}/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20261129/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(Full::new(bytes::Bytes::from(body)))
        .expect("a request");
    let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let response = client.request(request).await.expect("moto answers");
    let status = response.status();
    let text = response.into_body().collect().await.expect("a body").to_bytes();
    assert!(
        status.is_success(),
        "CreateRole: {status} {}",
        String::from_utf8_lossy(&text)
    );
    format!("arn:aws:iam::123456789012:role/{name}")
}

/// A setting of the template's `Globals.Function`, as written there.
fn template_global(name: &str) -> String {
    let template = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    let globals = template.split("\nGlobals:\n").nth(1).expect("a Globals section");
    globals
        .lines()
        .take_while(|line| line.is_empty() || line.starts_with(' '))
        .find_map(|line| line.trim().strip_prefix(&format!("{name}: ")).map(str::to_owned))
        .unwrap_or_else(|| panic!("Globals.Function.{name} in template.yaml"))
}

/// A parameter's default in template.yaml.
fn template_default(parameter: &str) -> String {
    let template = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    let section = template
        .split(&format!("\n  {parameter}:\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("parameter {parameter} in template.yaml"));
    section
        .lines()
        .take_while(|line| line.starts_with("    "))
        .find_map(|line| line.trim().strip_prefix("Default: ").map(str::to_owned))
        .unwrap_or_else(|| panic!("a Default for {parameter}"))
}

fn show(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn make_deploy_cargo_lambda_creates_both_functions_exactly_as_configured() {
    let moto = Moto::shared();
    let endpoint = moto.raw_endpoint.as_str();
    let prefix = format!("deploy-{}-", std::process::id());
    let artemis_role = create_role(endpoint, &format!("{prefix}artemis-role")).await;
    let amlyze_role = create_role(endpoint, &format!("{prefix}amlyze-role")).await;
    let secret = secrets::create(
        &secrets::client(endpoint).await,
        "amlyze-token",
        "a-token-0123456789abcdef",
    )
    .await;
    let output = make(
        "deploy-cargo-lambda",
        endpoint,
        &[
            ("FUNCTION_PREFIX", &prefix),
            ("ARTEMIS_ROLE_ARN", &artemis_role),
            ("AMLYZE_ROLE_ARN", &amlyze_role),
            ("AMLYZE_RESERVED_CONCURRENCY", "50"),
            ("QUEUE_URL", QUEUE),
            ("QUARANTINE_QUEUE_URL", QUARANTINE),
            ("ARCHIVE_STREAM", "intake-archive"),
            ("ARTEMIS_SOURCE_CIDRS", ARTEMIS_RANGES),
            ("AMLYZE_SECRET_ARN", &secret),
            ("MAX_BODY_BYTES", "131072"),
            ("FALLBACK_QUEUE_URL", FALLBACK_QUEUE),
            ("FALLBACK_QUARANTINE_QUEUE_URL", FALLBACK_QUARANTINE),
            ("FALLBACK_REGION", "us-west-2"),
        ],
    );
    assert!(output.status.success(), "{}", show(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);

    let common = [
        ("QUEUE_URL", QUEUE),
        ("QUARANTINE_QUEUE_URL", QUARANTINE),
        ("ARCHIVE_STREAM", "intake-archive"),
        ("MAX_BODY_BYTES", "131072"),
        ("FALLBACK_QUEUE_URL", FALLBACK_QUEUE),
        ("FALLBACK_QUARANTINE_QUEUE_URL", FALLBACK_QUARANTINE),
        ("FALLBACK_REGION", "us-west-2"),
    ];
    // Each vendor's boundary, its own role, and its reserved concurrency:
    // the template's default unless set (AMLYZE_RESERVED_CONCURRENCY).
    let template_reserved: i32 = template_default("ArtemisReservedConcurrency").parse().unwrap();
    let own = [
        (
            "artemis",
            ("ALLOWED_SOURCE_CIDRS", ARTEMIS_RANGES),
            &artemis_role,
            template_reserved,
        ),
        ("amlyze", ("SHARED_SECRET_ARN", secret.as_str()), &amlyze_role, 50),
    ];
    let client = lambda(endpoint).await;
    for (vendor, boundary, role, reserved) in own {
        let name = format!("{prefix}{vendor}");
        let function = client
            .get_function()
            .function_name(&name)
            .send()
            .await
            .expect("the function exists");
        let config = function.configuration().expect("its configuration");
        assert_eq!(config.architectures(), [Architecture::Arm64], "{name}");
        assert_eq!(config.runtime(), Some(&Runtime::Providedal2023), "{name}");
        assert_eq!(
            config.runtime().map(|r| r.as_str().to_owned()),
            Some(template_global("Runtime")),
            "{name}: the template's runtime"
        );
        assert_eq!(config.handler(), Some("bootstrap"), "{name}");
        assert_eq!(
            config.memory_size().map(|m| m.to_string()),
            Some(template_global("MemorySize")),
            "{name}"
        );
        assert_eq!(
            config.timeout().map(|t| t.to_string()),
            Some(template_global("Timeout")),
            "{name}"
        );
        assert_eq!(config.role(), Some(role.as_str()), "{name}: its own role");
        let concurrency = client
            .get_function_concurrency()
            .function_name(&name)
            .send()
            .await
            .expect("get_function_concurrency");
        assert_eq!(
            concurrency.reserved_concurrent_executions(),
            Some(reserved),
            "{name}: reserved concurrency"
        );
        assert_eq!(
            config.tracing_config().and_then(|t| t.mode()),
            Some(&TracingMode::Active),
            "{name}: X-Ray"
        );
        let env: HashMap<String, String> = config
            .environment()
            .and_then(|e| e.variables())
            .cloned()
            .unwrap_or_default();
        let expected: HashMap<String, String> = common
            .iter()
            .chain([&boundary])
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(env, expected, "{name}: exactly its own vendor's environment");

        let url = client
            .get_function_url_config()
            .function_name(&name)
            .send()
            .await
            .expect("a function URL");
        assert_eq!(url.auth_type(), &FunctionUrlAuthType::None, "{name}");
        assert!(
            stdout.contains(&format!("{name}: {}", url.function_url())),
            "the URL is printed: {stdout}"
        );
        let policy = client
            .get_policy()
            .function_name(&name)
            .send()
            .await
            .expect("a resource policy");
        let policy = policy.policy().unwrap_or_default();
        // Both permissions a public URL needs on AWS since October 2025:
        // InvokeFunctionUrl (auth NONE) and InvokeFunction through the URL only.
        let policy: serde_json::Value = serde_json::from_str(policy).expect("a JSON policy");
        let statements = policy["Statement"].as_array().cloned().unwrap_or_default();
        // The exact condition of each: AWS renders AddPermission's
        // FunctionUrlAuthType and InvokedViaFunctionUrl as a Condition; moto
        // keeps them as the statement's own fields. Either way, exactly these.
        let condition = |action: &str| -> Vec<serde_json::Value> {
            statements
                .iter()
                .filter(|s| s["Effect"] == "Allow" && s["Principal"] == "*" && s["Action"] == action)
                .map(|s| match s.get("Condition") {
                    Some(condition) => condition.clone(),
                    None => {
                        let mut fields = s.as_object().cloned().unwrap_or_default();
                        for key in ["Action", "Effect", "Principal", "Resource", "Sid"] {
                            fields.remove(key);
                        }
                        serde_json::Value::Object(fields)
                    }
                })
                .collect()
        };
        let url_condition = condition("lambda:InvokeFunctionUrl");
        assert!(
            url_condition == [serde_json::json!({"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}})]
                || url_condition == [serde_json::json!({"FunctionUrlAuthType": "NONE"})],
            "{name}: anyone may call the URL, and only as a URL with auth NONE: {policy}"
        );
        let invoke_condition = condition("lambda:InvokeFunction");
        assert!(
            invoke_condition == [serde_json::json!({"Bool": {"lambda:InvokedViaFunctionUrl": "true"}})]
                || invoke_condition == [serde_json::json!({"InvokedViaFunctionUrl": true})],
            "{name}: and invoke the function only through its URL (InvokedViaFunctionUrl true): {policy}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn make_deploy_cargo_lambda_refuses_an_open_function_url_and_creates_nothing() {
    let moto = Moto::shared();
    let endpoint = moto.raw_endpoint.as_str();
    let prefix = format!("open-{}-", std::process::id());
    let artemis_role = create_role(endpoint, &format!("{prefix}artemis-role")).await;
    let amlyze_role = create_role(endpoint, &format!("{prefix}amlyze-role")).await;
    let client = lambda(endpoint).await;
    // Amlyze with neither a token nor ranges; then with ranges that are no
    // boundary; then with ALLOW_UNAUTHENTICATED, which a function URL never gets.
    for amlyze in [
        vec![],
        vec![("AMLYZE_SOURCE_CIDRS", "0.0.0.0/0")],
        vec![("ALLOW_UNAUTHENTICATED", "true")],
    ] {
        let mut vars = vec![
            ("FUNCTION_PREFIX", prefix.as_str()),
            ("ARTEMIS_ROLE_ARN", artemis_role.as_str()),
            ("AMLYZE_ROLE_ARN", amlyze_role.as_str()),
            ("QUEUE_URL", QUEUE),
            ("QUARANTINE_QUEUE_URL", QUARANTINE),
            ("ARTEMIS_SOURCE_CIDRS", ARTEMIS_RANGES),
        ];
        vars.extend(amlyze.iter().copied());
        let output = make("deploy-cargo-lambda", endpoint, &vars);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "refused with {amlyze:?}: {}", show(&output));
        assert!(
            stderr.contains(&format!("{prefix}amlyze")) && stderr.contains("anyone could post"),
            "the refusal names the function and why: {}",
            show(&output)
        );
        let listed = client.list_functions().send().await.expect("list_functions");
        let ours: Vec<&str> = listed
            .functions()
            .iter()
            .filter_map(|f| f.function_name())
            .filter(|name| name.starts_with(&prefix))
            .collect();
        assert!(ours.is_empty(), "nothing deployed, not even artemis: {ours:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn make_cargo_lambda_policy_sends_to_exactly_the_fallback_queues() {
    let moto = Moto::shared();
    let output = make(
        "cargo-lambda-policy",
        moto.raw_endpoint.as_str(),
        &[
            ("VENDOR", "artemis"),
            ("QUEUE_URL", QUEUE),
            ("QUARANTINE_QUEUE_URL", QUARANTINE),
            ("ARTEMIS_SOURCE_CIDRS", ARTEMIS_RANGES),
            ("FALLBACK_QUEUE_URL", FALLBACK_QUEUE),
            ("FALLBACK_QUARANTINE_QUEUE_URL", FALLBACK_QUARANTINE),
            ("FALLBACK_KMS_KEY_ARNS", "arn:aws:kms:us-west-2:123456789012:key/west"),
        ],
    );
    assert!(output.status.success(), "{}", show(&output));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one policy document");
    let statements = document["Statement"].as_array().cloned().unwrap_or_default();
    let sends: Vec<String> = statements
        .iter()
        .filter(|s| s["Action"] == "sqs:SendMessage")
        .flat_map(|s| s["Resource"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        sends,
        [
            "arn:aws:sqs:us-east-1:123456789012:intake-events",
            "arn:aws:sqs:us-east-1:123456789012:intake-quarantine",
            "arn:aws:sqs:us-west-2:123456789012:intake-events-west",
            "arn:aws:sqs:us-west-2:123456789012:intake-quarantine-west",
        ],
        "{document}"
    );
    let keys = statements
        .iter()
        .find(|s| s["Resource"] == serde_json::json!(["arn:aws:kms:us-west-2:123456789012:key/west"]))
        .unwrap_or_else(|| panic!("the fallback key: {document}"));
    assert_eq!(
        keys["Condition"]["StringEquals"]["kms:ViaService"], "sqs.us-west-2.amazonaws.com",
        "{document}"
    );
}
