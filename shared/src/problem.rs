//! Every way a request can fail, and the one place each becomes an HTTP
//! response: RFC 9457 `application/problem+json` with an `errors` array.

use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use lambda_http::{Body, Response};
use serde::Serialize;

/// One problem with one named part of the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a request was not accepted. Expected failures are values, never `Err`
/// from the Lambda handler (API Gateway would turn that into an opaque 502).
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("the caller's address is not in ALLOWED_SOURCE_CIDRS")]
    Forbidden,
    #[error("the request does not carry the shared secret")]
    Unauthorized,
    #[error("method {method} is not accepted here")]
    MethodNotAllowed { method: String, allow: &'static str },
    #[error("the body has {size} bytes, more than the limit of {limit}")]
    PayloadTooLarge { size: usize, limit: usize },
    #[error("content type {0:?} is neither JSON nor a CloudEvents JSON type")]
    UnsupportedMediaType(String),
    #[error("the request is not a valid event ({} problem(s))", .0.len())]
    Invalid(Vec<FieldError>),
    #[error("the event could not be handed to the queue: {0}")]
    Unavailable(String),
}

impl Rejection {
    pub fn status(&self) -> u16 {
        match self {
            Self::Forbidden => 403,
            Self::Unauthorized => 401,
            Self::MethodNotAllowed { .. } => 405,
            Self::PayloadTooLarge { .. } => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::Invalid(_) => 400,
            Self::Unavailable(_) => 503,
        }
    }

    /// A short machine-friendly name, used in the problem `type` and in logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden-source",
            Self::Unauthorized => "missing-or-wrong-token",
            Self::MethodNotAllowed { .. } => "method-not-allowed",
            Self::PayloadTooLarge { .. } => "payload-too-large",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::Invalid(_) => "invalid-event",
            Self::Unavailable(_) => "queue-unavailable",
        }
    }

    /// Whether the request carries a payload that must not be lost, so it is
    /// quarantined verbatim. Callers refused by the allowlist or the secret are
    /// not (their requests are not ours to keep), nor wrong methods.
    pub fn keeps_request(&self) -> bool {
        matches!(
            self,
            Self::PayloadTooLarge { .. } | Self::UnsupportedMediaType(_) | Self::Invalid(_) | Self::Unavailable(_)
        )
    }

    /// The problem list: for an invalid event every field error; otherwise
    /// one entry naming the part of the request at fault.
    pub fn errors(&self) -> Vec<FieldError> {
        match self {
            Self::Invalid(errors) => errors.clone(),
            Self::Forbidden => vec![FieldError::new("sourceIp", self.to_string())],
            Self::Unauthorized => vec![FieldError::new("X-Webhook-Token", self.to_string())],
            Self::MethodNotAllowed { .. } => vec![FieldError::new("method", self.to_string())],
            Self::PayloadTooLarge { .. } => vec![FieldError::new("body", self.to_string())],
            Self::UnsupportedMediaType(_) => {
                vec![FieldError::new("Content-Type", self.to_string())]
            }
            Self::Unavailable(_) => vec![FieldError::new("queue", self.to_string())],
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::Forbidden => "Forbidden",
            Self::Unauthorized => "Unauthorized",
            Self::MethodNotAllowed { .. } => "Method Not Allowed",
            Self::PayloadTooLarge { .. } => "Content Too Large",
            Self::UnsupportedMediaType(_) => "Unsupported Media Type",
            Self::Invalid(_) => "Invalid event",
            Self::Unavailable(_) => "Service Unavailable",
        }
    }

    /// The RFC 9457 problem document for this rejection.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:webhook-intake:problem:{}", self.reason()),
            title: self.title(),
            status: self.status(),
            detail: self.detail(),
            errors: self.errors(),
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::Invalid(errors) => format!(
                "The request was not accepted: {} problem(s) listed in `errors`. Nothing was queued; the request was kept for inspection.",
                errors.len()
            ),
            Self::Unavailable(_) => "The event could not be queued in time; nothing was accepted. Please retry.".to_owned(),
            other => format!("{other}."),
        }
    }

    /// The HTTP response for this rejection: the only place statuses are chosen.
    pub fn into_response(self) -> Response<Body> {
        let mut builder = Response::builder()
            .status(self.status())
            .header(CONTENT_TYPE, "application/problem+json");
        if let Self::MethodNotAllowed { allow, .. } = &self {
            builder = builder.header(ALLOW, *allow);
        }
        let body = serde_json::to_string(&self.problem()).unwrap_or_default();
        builder.body(Body::Text(body)).unwrap_or_default()
    }
}

/// RFC 9457 problem details, with the `errors` extension member.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    pub errors: Vec<FieldError>,
}

#[cfg(test)]
mod tests {
    use super::*;

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
            allow: "POST, OPTIONS",
        }
        .into_response();
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()[ALLOW], "POST, OPTIONS");
    }

    #[test]
    fn only_payload_carrying_rejections_are_kept() {
        assert!(!Rejection::Forbidden.keeps_request());
        assert!(!Rejection::Unauthorized.keeps_request());
        assert!(Rejection::Invalid(vec![]).keeps_request());
        assert!(Rejection::Unavailable("down".into()).keeps_request());
        assert!(Rejection::PayloadTooLarge { size: 2, limit: 1 }.keeps_request());
    }
}
