//! Every way a request can fail, and the one place each becomes an HTTP
//! response: RFC 9457 `application/problem+json` with an `errors` array.

use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use lambda_http::{Body, Response};
use serde::Serialize;

use platform::sqs::MAX_MESSAGE_BYTES as MAX_SQS_MESSAGE_BYTES;

/// The most problems a response or a quarantine record lists; `errorsTruncated`
/// says how many more there were. Keeps every response far below Lambda's
/// 6 MB and every record within an SQS message.
pub(crate) const MAX_LISTED_PROBLEMS: usize = 100;

/// Who reads a rejection's problems: the caller (the response: nothing of
/// ours, such as an SQS error, is told) or an operator (the quarantine
/// record and the logs: every cause).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reader {
    Caller,
    Operator,
}
pub use intake_queue::quarantine::{FieldError, MAX_PROBLEM_FIELD_BYTES};

/// The first [`MAX_LISTED_PROBLEMS`] of `errors`, and how many were left out.
pub fn listed(errors: &[FieldError]) -> (Vec<FieldError>, Option<usize>) {
    let shown = errors.len().min(MAX_LISTED_PROBLEMS);
    let left_out = errors.len() - shown;
    (errors[..shown].to_vec(), (left_out > 0).then_some(left_out))
}

/// Why a request was not accepted. Expected failures are values, never `Err`
/// from the Lambda handler (API Gateway would turn that into an opaque 502).
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// 403: the caller is outside the allowlist; nothing is kept.
    #[error("the caller's address is not in ALLOWED_SOURCE_CIDRS")]
    Forbidden,
    /// 401: no token, or a wrong one.
    #[error("the request does not carry the shared secret")]
    Unauthorized,
    /// 405: a method the vendor does not send events with.
    #[error("method {method} is not accepted here")]
    MethodNotAllowed {
        /// The method received.
        method: String,
        /// The `Allow` header: the methods accepted.
        allow: String,
    },
    /// 413: a body over `MAX_BODY_BYTES`.
    #[error("the body has {size} bytes, more than the limit of {limit}")]
    PayloadTooLarge {
        /// The body's size in bytes.
        size: usize,
        /// `MAX_BODY_BYTES`.
        limit: usize,
    },
    /// 415: a content type that is neither JSON nor a CloudEvents JSON type.
    #[error("content type {0:?} is neither JSON nor a CloudEvents JSON type")]
    UnsupportedMediaType(String),
    /// 400: every problem found in the request.
    #[error("the request is not a valid event ({} problem(s))", .0.len())]
    Invalid(Vec<FieldError>),
    /// Valid, but once normalized larger than an SQS message can be.
    #[error("the event is {size} bytes once normalized, more than an SQS message can hold ({MAX_SQS_MESSAGE_BYTES})")]
    TooLargeForQueue {
        /// The normalized message's size in bytes.
        size: usize,
    },
    /// SQS did not take the event in time; the text is the SDK's error, for
    /// the logs and the quarantine record only, never the response.
    #[error("the event could not be handed to the queue: {0}")]
    Unavailable(String),
    /// A bug: a panic caught in the pipeline, or a message this build made
    /// that SQS would refuse. The text is for the logs and the record only.
    #[error("internal error: {0}")]
    Internal(String),
    /// The Lambda event itself could not be read as any front door's; the
    /// whole event is kept. The text is for the logs and the record only.
    #[error("unreadable event: {0}")]
    UnreadableEvent(String),
}

/// Whether a refused request is kept (quarantine, archive, or the logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeepRule {
    /// Not ours to keep: a caller outside the allowlist, a wrong method.
    Never,
    /// A wrong token: kept only behind an allowlist, where the caller is most
    /// likely the vendor after a botched rotation.
    BehindAllowlist,
    /// A payload that must not be lost, kept verbatim.
    Always,
}

/// What a rejection is answered and logged with, and whether it is kept.
struct Facts {
    status: u16,
    /// A short machine-friendly name, in the problem `type` and in logs.
    reason: &'static str,
    title: &'static str,
    keep: KeepRule,
}

const fn facts(status: u16, reason: &'static str, title: &'static str, keep: KeepRule) -> Facts {
    Facts {
        status,
        reason,
        title,
        keep,
    }
}

impl Rejection {
    /// Every variant's facts, in one place.
    fn facts(&self) -> Facts {
        use KeepRule::{Always, BehindAllowlist, Never};
        match self {
            Self::Forbidden => facts(403, "forbidden-source", "Forbidden", Never),
            Self::Unauthorized => facts(401, "unauthorized", "Unauthorized", BehindAllowlist),
            Self::MethodNotAllowed { .. } => facts(405, "method-not-allowed", "Method Not Allowed", Never),
            Self::PayloadTooLarge { .. } => facts(413, "payload-too-large", "Content Too Large", Always),
            Self::UnsupportedMediaType(_) => facts(415, "unsupported-media-type", "Unsupported Media Type", Always),
            Self::Invalid(_) => facts(400, "invalid-event", "Invalid event", Always),
            Self::TooLargeForQueue { .. } => facts(413, "too-large-for-queue", "Content Too Large", Always),
            Self::Unavailable(_) => facts(503, "queue-unavailable", "Service Unavailable", Always),
            Self::Internal(_) => facts(500, "internal-error", "Internal Server Error", Always),
            Self::UnreadableEvent(_) => facts(500, "unreadable-event", "Internal Server Error", Always),
        }
    }

    /// The HTTP status this rejection is answered with.
    pub fn status(&self) -> u16 {
        self.facts().status
    }

    /// A short machine-friendly name, used in the problem `type` and in logs.
    pub fn reason(&self) -> &'static str {
        self.facts().reason
    }

    /// Whether the request is kept ([`KeepRule`]).
    pub(crate) fn keep_rule(&self) -> KeepRule {
        self.facts().keep
    }

    /// Whether the request is kept, given whether an allowlist that is a
    /// boundary stands in front ([`KeepRule`]).
    pub(crate) fn keeps_request(&self, allowlisted: bool) -> bool {
        match self.keep_rule() {
            KeepRule::Never => false,
            KeepRule::BehindAllowlist => allowlisted,
            KeepRule::Always => true,
        }
    }

    /// The problem list the caller sees: for an invalid event every field
    /// error; otherwise one entry naming the part of the request at fault.
    /// Says nothing of the account, queue, role or SDK error.
    pub fn errors(&self) -> Vec<FieldError> {
        match self {
            Self::Invalid(errors) => errors.clone(),
            Self::TooLargeForQueue { .. } => vec![FieldError::new("body", self.to_string())],
            Self::Unavailable(_) => vec![FieldError::new(
                "queue",
                "the event could not be handed to the queue in time",
            )],
            Self::Internal(_) | Self::UnreadableEvent(_) => {
                vec![FieldError::new("request", "the function failed unexpectedly")]
            }
            Self::Forbidden => vec![FieldError::new("sourceIp", self.to_string())],
            Self::Unauthorized => vec![FieldError::new("X-Webhook-Token", self.to_string())],
            Self::MethodNotAllowed { .. } => vec![FieldError::new("method", self.to_string())],
            Self::PayloadTooLarge { .. } => vec![FieldError::new("body", self.to_string())],
            Self::UnsupportedMediaType(_) => {
                vec![FieldError::new("Content-Type", self.to_string())]
            }
        }
    }

    /// The problem list for the quarantine record and the logs: as
    /// [`Self::errors`], with the internal detail of a 503 or 500.
    pub(crate) fn record_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Unavailable(detail) => vec![FieldError::new("queue", detail.clone())],
            Self::Internal(detail) => vec![FieldError::new("request", detail.clone())],
            Self::UnreadableEvent(detail) => vec![FieldError::new("event", detail.clone())],
            _ => self.errors(),
        }
    }

    /// How many problems there are.
    pub(crate) fn problem_count(&self) -> usize {
        match self {
            Self::Invalid(errors) => errors.len(),
            _ => 1,
        }
    }

    /// The first [`MAX_LISTED_PROBLEMS`] problems as `reader` is told them,
    /// and how many were left out; never copies a long list whole.
    pub(crate) fn listed_errors(&self, reader: Reader) -> (Vec<FieldError>, Option<usize>) {
        match (self, reader) {
            (Self::Invalid(errors), _) => listed(errors),
            (_, Reader::Operator) => listed(&self.record_errors()),
            (_, Reader::Caller) => listed(&self.errors()),
        }
    }

    /// The RFC 9457 problem document for this rejection.
    pub fn problem(&self) -> Problem {
        let (errors, errors_truncated) = self.listed_errors(Reader::Caller);
        Problem {
            kind: format!("urn:webhook-intake:problem:{}", self.reason()),
            title: self.facts().title,
            status: self.status(),
            detail: self.detail(),
            errors,
            errors_truncated,
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::Invalid(errors) => format!(
                "The request was not accepted: {} problem(s), listed in `errors` (the first {MAX_LISTED_PROBLEMS}). Nothing was queued; the request was kept for inspection.",
                errors.len()
            ),
            Self::Unavailable(_) => "The event could not be queued in time; nothing was accepted. Please retry.".to_owned(),
            Self::Internal(_) | Self::UnreadableEvent(_) => {
                "The function failed unexpectedly; nothing was accepted. The request was kept for inspection.".to_owned()
            }
            other => format!("{other}."),
        }
    }

    /// The HTTP response for this rejection: the only place statuses are chosen.
    pub(crate) fn into_response(self) -> Response<Body> {
        let mut builder = Response::builder()
            .status(self.status())
            .header(CONTENT_TYPE, "application/problem+json");
        if let Self::MethodNotAllowed { allow, .. } = &self {
            builder = builder.header(ALLOW, allow.as_str());
        }
        let body = serde_json::to_string(&self.problem()).unwrap_or_default();
        builder.body(Body::Text(body)).unwrap_or_default()
    }
}

/// RFC 9457 problem details, with the `errors` extension member.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// The problem type's URI.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's short, fixed description.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// Every problem found, each naming its field (the first [`MAX_LISTED_PROBLEMS`]).
    pub errors: Vec<FieldError>,
    /// How many problems past the first [`MAX_LISTED_PROBLEMS`] were left out.
    #[serde(rename = "errorsTruncated", skip_serializing_if = "Option::is_none")]
    pub errors_truncated: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use intake_queue::quarantine::MAX_PROBLEM_MESSAGE_BYTES;

    #[test]
    fn problem_json_lists_every_error() {
        let rejection = Rejection::Invalid(vec![
            FieldError::new("customerId", "is required"),
            FieldError::new("status", "must be a string, not a number"),
        ]);
        let response = rejection.into_response();
        assert_eq!(response.status(), 400);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
        let problem: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(problem["status"], 400);
        assert_eq!(problem["type"], "urn:webhook-intake:problem:invalid-event");
        assert_eq!(problem["title"], "Invalid event");
        assert!(problem["detail"].as_str().unwrap().contains("2 problem(s)"));
        assert_eq!(problem["errors"][1]["field"], "status");
    }

    #[test]
    fn method_not_allowed_lists_allowed_methods() {
        let response = Rejection::MethodNotAllowed {
            method: "GET".into(),
            allow: "POST, OPTIONS".to_owned(),
        }
        .into_response();
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()[ALLOW], "POST, OPTIONS");
    }

    #[test]
    fn only_payload_carrying_rejections_are_kept() {
        assert!(!Rejection::Forbidden.keeps_request(true));
        assert!(!Rejection::Unauthorized.keeps_request(false));
        assert!(Rejection::Unauthorized.keeps_request(true));
        assert!(Rejection::Invalid(vec![]).keeps_request(false));
        assert!(Rejection::Unavailable("down".into()).keeps_request(false));
        assert!(Rejection::Internal("bug".into()).keeps_request(false));
        assert!(Rejection::PayloadTooLarge { size: 2, limit: 1 }.keeps_request(false));
        assert!(Rejection::TooLargeForQueue { size: 2 }.keeps_request(false));
    }

    #[test]
    fn the_error_list_is_capped_and_each_problem_bounded() {
        // Regression: 130,000 problems made an 11 MB response.
        let errors = (0..130_000)
            .map(|i| FieldError::new(format!("[{i}]"), "must be an object"))
            .collect();
        let response = Rejection::Invalid(errors).into_response();
        assert!(response.body().len() < 64 * 1024, "{} bytes", response.body().len());
        let problem: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(problem["errors"].as_array().unwrap().len(), MAX_LISTED_PROBLEMS);
        assert_eq!(problem["errorsTruncated"], 130_000 - MAX_LISTED_PROBLEMS);
        let long = FieldError::new("f".repeat(10_000), "é".repeat(10_000));
        assert!(long.field.len() <= MAX_PROBLEM_FIELD_BYTES + 3 && long.message.len() <= MAX_PROBLEM_MESSAGE_BYTES + 3);
    }

    #[test]
    fn a_503_or_500_tells_the_caller_nothing_internal() {
        // Regression: the SDK's error text was in the body.
        let detail = "QueueDoesNotExist: arn:aws:sqs:eu-west-1:123456789012:events, role intake-role";
        for rejection in [
            Rejection::Unavailable(detail.into()),
            Rejection::Internal(detail.into()),
        ] {
            let status = rejection.status();
            let record = rejection.record_errors();
            let body = String::from_utf8(rejection.into_response().body().to_vec()).unwrap();
            assert!(
                !body.contains("123456789012") && !body.contains("QueueDoesNotExist") && !body.contains("role"),
                "{status}: {body}"
            );
            assert!(
                record[0].message.contains("QueueDoesNotExist"),
                "the record keeps the detail"
            );
        }
    }
}
