//! The configuration's checks, variable by variable.

use super::*;
use std::collections::HashMap;

/// `vars`, open on purpose unless they say otherwise (the boundary's own
/// tests: [`strict`]).
fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let open = [("ALLOW_UNAUTHENTICATED", "true")];
    strict(&open.iter().chain(vars).copied().collect::<Vec<_>>())
}

fn strict(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_lookup(Provider::Artemis, |k| vars.get(k).cloned())
}

#[test]
fn an_open_door_fails_init_unless_allowed_by_name() {
    let token = ("SHARED_SECRET", "s3cret");
    let arn = (
        "SHARED_SECRET_ARN",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:artemis",
    );
    let narrow = ("ALLOWED_SOURCE_CIDRS", "203.0.113.0/24, 2001:db8::/48");
    for vars in [
        vec![QUEUE],
        vec![QUEUE, ("ALLOWED_SOURCE_CIDRS", "0.0.0.0/0")],
        vec![QUEUE, ("ALLOWED_SOURCE_CIDRS", "0.0.0.0/1,128.0.0.0/1")],
        vec![QUEUE, ("ALLOWED_SOURCE_CIDRS", "1.0.0.0/0")],
        vec![QUEUE, ("ALLOWED_SOURCE_CIDRS", "203.0.113.0/24, ::/0")],
        vec![QUEUE, ("ALLOW_UNAUTHENTICATED", "false")],
        vec![QUEUE, ("ALLOW_UNAUTHENTICATED", "yes please")],
    ] {
        let err = strict(&vars).unwrap_err();
        assert!(matches!(err, ConfigError::Unauthenticated(_)), "{vars:?}: {err}");
        let message = err.to_string();
        for var in ["ALLOW_UNAUTHENTICATED", "SHARED_SECRET_ARN", "ALLOWED_SOURCE_CIDRS"] {
            assert!(message.contains(var), "{message} should name {var}");
        }
        let mut allowed = vars.clone();
        allowed.push(("ALLOW_UNAUTHENTICATED", "TRUE"));
        // The last value of a name wins (a HashMap), so this overrides "false".
        assert!(strict(&allowed).is_ok(), "{vars:?} allowed by name");
    }
    for vars in [
        vec![QUEUE, token],
        vec![QUEUE, arn],
        vec![QUEUE, narrow],
        vec![QUEUE, token, ("ALLOWED_SOURCE_CIDRS", "0.0.0.0/0")],
    ] {
        assert!(strict(&vars).is_ok(), "{vars:?} is a boundary");
    }
}

const QUEUE: (&str, &str) = ("QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/123456789012/events");

#[test]
fn minimal_config_has_defaults() {
    let config = config(&[QUEUE]).unwrap();
    assert!(!config.queue.fifo);
    assert_eq!(config.max_body_bytes, 262_144);
    assert!(config.quarantine.is_none() && config.allowlist.is_none() && config.secret.is_none());
    assert!(!config.prewarm);
    assert!(config.archive_stream.is_none());
}

#[test]
fn the_archive_stream_is_named_by_name_or_arn() {
    let arn = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/intake-archive";
    for text in ["intake-archive", arn] {
        let config = config(&[QUEUE, ("ARCHIVE_STREAM", text)]).unwrap();
        assert_eq!(config.archive_stream.as_deref(), Some("intake-archive"));
    }
}

#[test]
fn the_previous_token_grace_is_a_duration() {
    assert_eq!(config(&[QUEUE]).unwrap().previous_grace, Duration::from_secs(86_400));
    for (text, seconds) in [
        ("24h", 86_400),
        ("90m", 5_400),
        ("3600s", 3_600),
        ("600", 600),
        ("0", 0),
    ] {
        let config = config(&[QUEUE, ("PREVIOUS_TOKEN_GRACE", text)]).unwrap();
        assert_eq!(config.previous_grace, Duration::from_secs(seconds), "{text:?}");
    }
}

#[test]
fn prewarm_is_a_yes_or_no() {
    for (text, expected) in [
        ("true", true),
        ("TRUE", true),
        ("1", true),
        ("on", true),
        ("false", false),
        ("0", false),
        ("", false),
    ] {
        assert_eq!(
            config(&[QUEUE, ("SQS_PREWARM", text)]).unwrap().prewarm,
            expected,
            "{text:?}"
        );
    }
}

#[test]
fn fifo_is_detected_from_the_url() {
    let config = config(&[("QUEUE_URL", "http://127.0.0.1:5000/123456789012/events.fifo")]).unwrap();
    assert!(config.queue.fifo);
}

#[test]
fn every_bad_setting_names_its_variable() {
    assert_eq!(
        config(&[]).unwrap_err().to_string(),
        "QUEUE_URL is required but not set"
    );
    for (vars, var) in [
        (vec![("QUEUE_URL", "not a url")], "QUEUE_URL"),
        (vec![("QUEUE_URL", "ftp://host/1/q")], "QUEUE_URL"),
        (vec![("QUEUE_URL", "https://sqs.amazonaws.com/")], "QUEUE_URL"),
        (vec![QUEUE, ("QUARANTINE_QUEUE_URL", "queue")], "QUARANTINE_QUEUE_URL"),
        (
            vec![QUEUE, ("ALLOWED_SOURCE_CIDRS", "10.0.0.0/8, 300.1.1.1/32")],
            "ALLOWED_SOURCE_CIDRS",
        ),
        (vec![QUEUE, ("MAX_BODY_BYTES", "lots")], "MAX_BODY_BYTES"),
        (vec![QUEUE, ("MAX_BODY_BYTES", "0")], "MAX_BODY_BYTES"),
        (vec![QUEUE, ("MAX_BODY_BYTES", "2000000")], "MAX_BODY_BYTES"),
        // Regression: up to 1 MiB was accepted.
        (vec![QUEUE, ("MAX_BODY_BYTES", "262145")], "MAX_BODY_BYTES"),
        (vec![QUEUE, ("MAX_BODY_BYTES", "1048576")], "MAX_BODY_BYTES"),
        (vec![QUEUE, ("WEBHOOK_ALLOWED_RATE", "fast")], "WEBHOOK_ALLOWED_RATE"),
        (vec![QUEUE, ("SQS_PREWARM", "maybe")], "SQS_PREWARM"),
        (vec![QUEUE, ("ARCHIVE_STREAM", "arn:aws:s3:::bucket")], "ARCHIVE_STREAM"),
        (vec![QUEUE, ("ARCHIVE_STREAM", "two words")], "ARCHIVE_STREAM"),
        (vec![QUEUE, ("PREVIOUS_TOKEN_GRACE", "a day")], "PREVIOUS_TOKEN_GRACE"),
        (vec![QUEUE, ("PREVIOUS_TOKEN_GRACE", "1d")], "PREVIOUS_TOKEN_GRACE"),
        (vec![QUEUE, ("PREVIOUS_TOKEN_GRACE", "-5")], "PREVIOUS_TOKEN_GRACE"),
    ] {
        let message = config(&vars).unwrap_err().to_string();
        assert!(message.starts_with(var), "{message} should name {var}");
    }
}

#[test]
fn blank_optional_settings_are_unset() {
    let config = config(&[
        QUEUE,
        ("ALLOWED_SOURCE_CIDRS", " "),
        ("SHARED_SECRET", ""),
        ("MAX_BODY_BYTES", ""),
    ])
    .unwrap();
    assert!(config.allowlist.is_none() && config.secret.is_none());
    assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
}

#[test]
fn a_fallback_in_another_region_is_read_from_its_url_or_named() {
    let on_aws = config(&[
        QUEUE,
        (
            "FALLBACK_QUEUE_URL",
            "https://sqs.eu-central-1.amazonaws.com/123456789012/events",
        ),
    ])
    .unwrap()
    .fallback
    .unwrap();
    assert_eq!(on_aws.region, "eu-central-1");
    assert_eq!(on_aws.endpoint, None, "on AWS the SDK finds the endpoint");
    assert!(on_aws.quarantine.is_none());

    let local = config(&[
        QUEUE,
        ("QUARANTINE_QUEUE_URL", "http://127.0.0.1:5000/123456789012/quarantine"),
        (
            "FALLBACK_QUARANTINE_QUEUE_URL",
            "http://127.0.0.1:5001/123456789012/quarantine",
        ),
        ("FALLBACK_REGION", "us-west-2"),
    ])
    .unwrap()
    .fallback
    .unwrap();
    assert_eq!(local.region, "us-west-2");
    assert_eq!(local.endpoint.as_deref(), Some("http://127.0.0.1:5001"));
    assert!(local.queue.is_none());

    assert_eq!(config(&[QUEUE]).unwrap().fallback, None);
    let no_region = config(&[QUEUE, ("FALLBACK_QUEUE_URL", "http://127.0.0.1:5001/1/events")]).unwrap_err();
    assert!(
        matches!(
            no_region,
            ConfigError::Malformed {
                var: "FALLBACK_REGION",
                ..
            }
        ),
        "{no_region}"
    );
}

#[test]
fn a_fallback_must_be_the_same_kind_of_queue_as_the_local_one() {
    let fifo = (
        "QUEUE_URL",
        "https://sqs.eu-west-1.amazonaws.com/123456789012/events.fifo",
    );
    let standard = (
        "FALLBACK_QUEUE_URL",
        "https://sqs.eu-central-1.amazonaws.com/123456789012/events",
    );
    let err = config(&[fifo, standard]).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Malformed {
                var: "FALLBACK_QUEUE_URL",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("FIFO"), "{err}");
    let two_regions = config(&[
        QUEUE,
        (
            "QUARANTINE_QUEUE_URL",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/quarantine",
        ),
        (
            "FALLBACK_QUEUE_URL",
            "https://sqs.eu-central-1.amazonaws.com/123456789012/events",
        ),
        (
            "FALLBACK_QUARANTINE_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/quarantine",
        ),
    ])
    .unwrap_err();
    assert!(two_regions.to_string().contains("one region"), "{two_regions}");
    let alone = config(&[
        QUEUE,
        (
            "FALLBACK_QUARANTINE_QUEUE_URL",
            "https://sqs.eu-central-1.amazonaws.com/123456789012/quarantine",
        ),
    ])
    .unwrap_err();
    assert!(alone.to_string().contains("QUARANTINE_QUEUE_URL"), "{alone}");
    let bad = config(&[QUEUE, ("FALLBACK_QUEUE_URL", "not a url")]).unwrap_err();
    assert!(
        matches!(
            bad,
            ConfigError::Malformed {
                var: "FALLBACK_QUEUE_URL",
                ..
            }
        ),
        "{bad}"
    );
}

#[test]
fn health_check_is_a_yes_or_no_setting_off_by_default() {
    assert!(!config(&[QUEUE]).unwrap().health_check);
    assert!(config(&[QUEUE, ("HEALTH_CHECK", "true")]).unwrap().health_check);
    let err = config(&[QUEUE, ("HEALTH_CHECK", "sometimes")]).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Malformed {
                var: "HEALTH_CHECK",
                ..
            }
        ),
        "{err}"
    );
}
