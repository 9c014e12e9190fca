//! The quarantine queue: one record per refused request, holding the request
//! exactly as received (credentials redacted) and why it was refused, so an
//! operator can fix the cause and replay it.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A problem's `field` is cut to this many bytes (a duplicated key can be as
/// long as the body).
pub const MAX_PROBLEM_FIELD_BYTES: usize = 256;
/// A problem's `message` is cut to this many bytes (some quote the value).
pub const MAX_PROBLEM_MESSAGE_BYTES: usize = 512;

/// One problem with one named part of the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FieldError {
    /// Where: a JSON path in the body (`status`, `[2].data.pep`), a header
    /// name, or `""` for the request as a whole. At most 256 bytes (+ `…`).
    pub field: String,
    /// What is wrong with it. At most 512 bytes (+ `…`).
    pub message: String,
}

impl FieldError {
    /// A problem; a field name or message longer than its bound is cut (with `…`).
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: truncate(field.into(), MAX_PROBLEM_FIELD_BYTES),
            message: truncate(message.into(), MAX_PROBLEM_MESSAGE_BYTES),
        }
    }
}

/// `text` cut to at most `max` bytes on a character boundary, marked with `…`.
#[doc(hidden)]
pub fn truncate(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// One quarantined request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "Quarantine record"))]
#[serde(rename_all = "camelCase")]
pub struct QuarantineRecord {
    /// The function that refused it: `"artemis"` or `"amlyze"`.
    pub provider: String,
    /// When it was received (RFC 3339, UTC).
    pub receivedtime: String,
    /// The front door's request id: replaying the record rebuilds the same
    /// Artemis event id from it.
    #[serde(default)]
    pub request_id: String,
    /// The HTTP status the sender was given.
    pub status: u16,
    /// Why: `invalid-event`, `payload-too-large`, `unsupported-media-type`,
    /// `too-large-for-queue`, `unreadable-event`, `queue-unavailable`,
    /// `internal-error` or `unauthorized`.
    pub reason: String,
    /// The first 100 problems.
    pub errors: Vec<FieldError>,
    /// How many problems there were beyond the first 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors_truncated: Option<usize>,
    /// The request's HTTP method.
    pub method: String,
    /// The request's path.
    pub path: String,
    /// Query parameters (credentials redacted).
    pub query: Map<String, Value>,
    /// The caller's address as the front door reported it.
    pub source_ip: Option<String>,
    /// Lower-case header names; repeated headers joined with `", "`;
    /// credentials replaced by `[redacted]`.
    pub headers: Map<String, Value>,
    /// The body exactly as received: text when it is UTF-8 (and fits),
    /// else base64 (see `bodyEncoding`).
    pub body: String,
    /// `"base64"` when `body` is base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_encoding: Option<String>,
    /// Set when the body was larger than the function's limit and only its
    /// first bytes are kept: the size it had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_truncated_from: Option<usize>,
}

impl QuarantineRecord {
    /// The body bytes as received (decoding base64 when needed); `None` when
    /// the base64 does not decode.
    pub fn body_bytes(&self) -> Option<Vec<u8>> {
        match self.body_encoding.as_deref() {
            Some("base64") => base64::engine::general_purpose::STANDARD.decode(&self.body).ok(),
            _ => Some(self.body.clone().into_bytes()),
        }
    }
}
