//! What makes a vendor: each vendor module implements [`Vendor`] (its name,
//! the methods it may use, whether it answers the CloudEvents preflight, and
//! how its requests become queue events, [`Parsed`]). A leaf: the list of
//! vendors is [`crate::vendors::providers`]. The pipeline asks the vendor; nothing
//! else knows which vendor it serves.

use lambda_http::http::Method;
use time::OffsetDateTime;

use crate::egress::envelope::CloudEvent;
use crate::egress::problem::FieldError;
use crate::ingress::request::Incoming;

/// One vendor's rules. Implemented by a unit struct in the vendor's module.
pub trait Vendor: Sync {
    /// The name written as `provider` on every message, in logs and metrics;
    /// the function's route is `/hooks/{name}`.
    fn name(&self) -> &'static str;
    /// The methods the vendor sends events with; any other is a 405.
    fn methods(&self) -> &'static [Method];
    /// Whether `OPTIONS` is the CloudEvents webhook preflight (answered 200).
    fn answers_preflight(&self) -> bool {
        false
    }
    /// Validates and normalizes one request: every event it carries, or every
    /// problem found.
    fn parse(&self, request: &Incoming, received: OffsetDateTime) -> Result<Parsed, Vec<FieldError>>;
}

/// A request that validated: what the pipeline needs, found once, by parsing.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The queue events, in the order the request carried them.
    pub events: Vec<CloudEvent>,
    /// Whether the request was a batch (answered with `ids`, not `id`).
    pub batch: bool,
    /// Enum fields whose value this build does not know (the
    /// `UnknownEnumValue` metric), one entry per occurrence.
    pub unknown_enum_fields: Vec<&'static str>,
}
