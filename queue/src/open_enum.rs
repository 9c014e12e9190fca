//! Open enums: the vendors say their enum sets are *additive* (new values may
//! come at any time). An open enum keeps a value this build does not know in
//! `Unknown(String)`, verbatim (never folded into a catch-all that loses the
//! text), and passes it on unchanged. Each vendor module declares its enums
//! with `open_enum!`.

/// Common surface of every open enum.
pub trait OpenEnum: Sized {
    /// Maps the vendor's text to a variant; unknown text is kept verbatim.
    fn parse(text: &str) -> Self;
    /// The vendor's text for this value.
    fn as_str(&self) -> &str;
    /// `false` for a value this build does not know.
    fn is_known(&self) -> bool;
}

macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $(#[doc = $text] $variant,)+
            /// A value the vendor added after this build, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The values this build knows, in the vendor's order.
            pub const KNOWN: &'static [&'static str] = &[$($text),+];
        }

        impl $crate::open_enum::OpenEnum for $name {
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
                f.write_str($crate::open_enum::OpenEnum::as_str(self))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str($crate::open_enum::OpenEnum::as_str(self))
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Ok($crate::open_enum::OpenEnum::parse(&text))
            }
        }

        /// Any string: the known values are listed as `examples`, and a value
        /// added by the vendor later is valid too.
        #[cfg(feature = "schema")]
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "description": concat!(
                        "An open enum: one of the known values (see examples) or a value the vendor added since; ",
                        "kept verbatim, case-sensitive."
                    ),
                    "examples": [$($text),+],
                })
            }
        }
    };
}
pub(crate) use open_enum;

#[cfg(test)]
mod tests {
    use super::OpenEnum;

    open_enum!(
        /// An enum for the tests.
        Action {
            Insert => "INSERT",
            Update => "UPDATE",
        }
    );

    #[test]
    fn known_values_round_trip() {
        for text in Action::KNOWN {
            let action = Action::parse(text);
            assert!(action.is_known(), "{text}");
            assert_eq!(action.as_str(), *text);
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(serde_json::from_str::<Action>(&json).unwrap(), action);
        }
        assert_eq!(Action::parse("UPDATE"), Action::Update);
    }

    #[test]
    fn unknown_values_are_kept_verbatim() {
        let action: Action = serde_json::from_str("\"Delete me\"").unwrap();
        assert_eq!(action, Action::Unknown("Delete me".into()));
        assert!(!action.is_known());
        assert_eq!(action.as_str(), "Delete me");
        assert_eq!(serde_json::to_string(&action).unwrap(), "\"Delete me\"");
        assert_eq!(action.to_string(), "Delete me");
    }

    #[test]
    fn matching_is_case_sensitive_so_nothing_is_rewritten() {
        // "insert" is not INSERT: we keep the sender's exact text.
        assert_eq!(Action::parse("insert"), Action::Unknown("insert".into()));
    }

    #[test]
    fn escaped_text_is_read() {
        // A JSON string with escapes cannot be borrowed; it is still read.
        let action: Action = serde_json::from_str(r#""IN\u0053ERT""#).unwrap();
        assert_eq!(action, Action::Insert);
    }
}
