//! Vendor enums. Both vendors say their enum sets are *additive*: a value we do
//! not know yet is kept verbatim in `Unknown(String)` (never folded into a
//! catch-all that loses the text) and passed on to the queue unchanged.

/// Common surface of every additive enum, used by the validator.
pub trait Additive: Sized {
    /// Maps the vendor's text to a variant; unknown text is kept verbatim.
    fn parse(text: &str) -> Self;
    /// The vendor's text for this value.
    fn as_str(&self) -> &str;
    /// `false` for a value this build does not know.
    fn is_known(&self) -> bool;
}

macro_rules! additive_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
            /// A value the vendor added after this build, kept verbatim.
            Unknown(String),
        }

        impl Additive for $name {
            fn parse(text: &str) -> Self {
                match text {
                    $($text => Self::$variant,)+
                    other => Self::Unknown(other.to_owned()),
                }
            }

            fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Unknown(text) => text,
                }
            }

            fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

additive_enum!(
    /// Artemis `status`.
    CustomerStatus {
        Draft => "DRAFT",
        Pending => "PENDING",
        Cleared => "CLEARED",
        RequireUpdate => "REQUIRE_UPDATE",
        Rejected => "REJECTED",
        Accepted => "ACCEPTED",
    }
);

additive_enum!(
    /// Artemis `riskRating`.
    RiskRating {
        Low => "LOW",
        MediumLow => "MEDIUM_LOW",
        Medium => "MEDIUM",
        MediumHigh => "MEDIUM_HIGH",
        High => "HIGH",
    }
);

additive_enum!(
    /// Artemis `action`.
    Action {
        Insert => "INSERT",
        Update => "UPDATE",
    }
);

additive_enum!(
    /// Artemis `customerType`.
    CustomerType {
        Individual => "INDIVIDUAL",
        Corporate => "CORPORATE",
    }
);

additive_enum!(
    /// Amlyze `riskLevel`.
    RiskLevel {
        None => "NONE",
        Low => "LOW",
        Medium => "MEDIUM",
        High => "HIGH",
        Extreme => "EXTREME",
    }
);

additive_enum!(
    /// Amlyze `status`.
    ScreeningStatus {
        Active => "ACTIVE",
        Pending => "PENDING",
        Rejected => "REJECTED",
        Suspended => "SUSPENDED",
        Closed => "CLOSED",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_round_trip() {
        for text in ["DRAFT", "PENDING", "CLEARED", "REQUIRE_UPDATE", "REJECTED", "ACCEPTED"] {
            let status = CustomerStatus::parse(text);
            assert!(status.is_known(), "{text}");
            assert_eq!(status.as_str(), text);
        }
        assert_eq!(RiskRating::parse("MEDIUM_HIGH"), RiskRating::MediumHigh);
        assert_eq!(RiskLevel::parse("EXTREME"), RiskLevel::Extreme);
        assert_eq!(ScreeningStatus::parse("SUSPENDED"), ScreeningStatus::Suspended);
    }

    #[test]
    fn unknown_values_are_kept_verbatim() {
        let action = Action::parse("Delete me");
        assert_eq!(action, Action::Unknown("Delete me".into()));
        assert!(!action.is_known());
        assert_eq!(action.as_str(), "Delete me");
        assert_eq!(serde_json::to_string(&action).unwrap(), "\"Delete me\"");
    }

    #[test]
    fn matching_is_case_sensitive_so_nothing_is_rewritten() {
        // "insert" is not INSERT: we keep the sender's exact text.
        assert_eq!(Action::parse("insert"), Action::Unknown("insert".into()));
    }
}
