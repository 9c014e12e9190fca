//! The vendors this build serves: [`Provider`], declared from one list of
//! vendor modules, each implementing [`Vendor`].

use lambda_http::http::Method;

use crate::vendors::vendor::Vendor;
use crate::vendors::{amlyze, artemis};

/// Declares [`Provider`] from one list of `Variant => module::Vendor`
/// pairs, so the enum, [`Provider::ALL`] and [`Provider::vendor`] cannot
/// disagree.
macro_rules! providers {
    ($($(#[$doc:meta])* $variant:ident => $vendor:path),+ $(,)?) => {
        /// The vendors this build serves; each function binary serves one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Provider {
            $($(#[$doc])* $variant,)+
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
    /// Artemis (Cynopsis KYC): customer onboarding and status callbacks.
    Artemis => artemis::Artemis,
    /// Amlyze (AML screening): CloudEvents.
    Amlyze => amlyze::Amlyze,
}

impl Provider {
    /// The vendor's name: the `provider` of its events, as `intake-queue` defines it.
    pub fn name(self) -> &'static str {
        self.vendor().name()
    }

    /// The vendor named `name`, if this build serves it.
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

    /// A vendor's name is defined once, in `intake-queue` (where the
    /// schema's list of providers comes from): the vendors served here are
    /// exactly those, in the same order.
    #[test]
    fn the_vendors_served_are_the_queues_providers() {
        let names: Vec<&str> = Provider::ALL.iter().map(|p| p.name()).collect();
        assert_eq!(names, intake_queue::PROVIDERS);
    }

    #[test]
    fn allow_lists_the_event_methods_and_the_preflight() {
        assert_eq!(Provider::Artemis.allow(), "POST, PUT, PATCH");
        assert_eq!(Provider::Amlyze.allow(), "POST, OPTIONS");
        assert!(Provider::Artemis.accepts(&Method::PATCH));
        assert!(!Provider::Amlyze.accepts(&Method::OPTIONS));
    }
}
