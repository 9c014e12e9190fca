//! What makes a vendor, in one place: each vendor module implements
//! [`Vendor`] (its name, the methods it may use, whether it answers the
//! CloudEvents preflight, and how its requests become queue events), and
//! [`Provider`] lists the vendors. The pipeline asks the vendor; nothing else
//! knows which vendor it serves.

use lambda_http::http::Method;
use time::OffsetDateTime;

use crate::envelope::CloudEvent;
use crate::problem::FieldError;
use crate::request::Incoming;
use crate::{amlyze, artemis};

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

/// Declares [`Provider`] from one list of `Variant => module::Vendor`
/// pairs, so the enum, [`Provider::ALL`] and [`Provider::vendor`] cannot
/// disagree.
macro_rules! providers {
    ($($variant:ident => $vendor:path),+ $(,)?) => {
        /// The vendors this build serves; each function binary serves one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Provider {
            $($variant,)+
        }

        impl Provider {
            /// Every vendor, for the tools and tests that go over all of them.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The vendor's rules.
            pub fn vendor(self) -> &'static dyn Vendor {
                match self {
                    $(Self::$variant => &$vendor,)+
                }
            }
        }
    };
}

// The one list of vendors: a new vendor is one line here (and its module).
providers! {
    Artemis => artemis::Artemis,
    Amlyze => amlyze::Amlyze,
}

impl Provider {
    pub fn name(self) -> &'static str {
        self.vendor().name()
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|provider| provider.name() == name)
    }

    /// Whether `method` is one the vendor sends events with.
    pub fn accepts(self, method: &Method) -> bool {
        self.vendor().methods().contains(method)
    }

    /// The `Allow` header value: the event methods, and `OPTIONS` when the
    /// vendor uses the preflight.
    pub fn allow(self) -> String {
        let vendor = self.vendor();
        let preflight = vendor.answers_preflight().then_some(&Method::OPTIONS);
        let methods: Vec<&str> = vendor.methods().iter().chain(preflight).map(Method::as_str).collect();
        methods.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_read_back() {
        for &provider in Provider::ALL {
            assert_eq!(Provider::from_name(provider.name()), Some(provider));
        }
        assert_eq!(Provider::from_name("nobody"), None);
    }

    #[test]
    fn allow_lists_the_event_methods_and_the_preflight() {
        assert_eq!(Provider::Artemis.allow(), "POST, PUT, PATCH");
        assert_eq!(Provider::Amlyze.allow(), "POST, OPTIONS");
        assert!(Provider::Artemis.accepts(&Method::PATCH));
        assert!(!Provider::Amlyze.accepts(&Method::OPTIONS));
    }
}
