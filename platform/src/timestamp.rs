//! RFC 3339 timestamps, read leniently where no meaning is lost: lower-case
//! `t`/`z` (the Amlyze docs' own `Ce-Time` example) and fractions of any length.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Parses an RFC 3339 timestamp; the error is a message for the sender.
pub fn parse(text: &str) -> Result<OffsetDateTime, String> {
    let refused = || format!("must be an RFC 3339 timestamp such as 2026-03-10T12:53:45.85Z, not {text:?}");
    let upper = text.to_ascii_uppercase();
    // More than nine fractional digits carries no meaning beyond nanoseconds:
    // keep the first nine.
    let normalized = match upper.find('.') {
        Some(dot) => {
            let digits = upper[dot + 1..].bytes().take_while(u8::is_ascii_digit).count();
            if digits > 9 {
                format!("{}{}", &upper[..dot + 10], &upper[dot + 1 + digits..])
            } else {
                upper
            }
        }
        None => upper,
    };
    OffsetDateTime::parse(&normalized, &Rfc3339).map_err(|_| refused())
}

/// Formats an instant as RFC 3339 in UTC (`…Z`). An instant that UTC cannot
/// write in RFC 3339's four-digit years (`9999-12-31T23:59:59-05:00` is in
/// year 10000 in UTC; `0000-01-01T00:00:00+01:00` in year −1) keeps the
/// sender's offset: still valid RFC 3339, and the same instant.
pub fn format_utc(at: OffsetDateTime) -> String {
    let utc = at
        .checked_to_offset(UtcOffset::UTC)
        .filter(|utc| (0..=9999).contains(&utc.year()));
    utc.unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_vendor_forms() {
        let at = parse("2026-03-10t12:53:45.85z").unwrap();
        assert_eq!(format_utc(at), "2026-03-10T12:53:45.85Z");
        assert_eq!(
            format_utc(parse("2019-12-13T12:01:02.694Z").unwrap()),
            "2019-12-13T12:01:02.694Z"
        );
        assert_eq!(
            format_utc(parse("2026-03-10T14:53:45+02:00").unwrap()),
            "2026-03-10T12:53:45Z"
        );
        // RFC 3339 (§5.6, note) allows a space instead of `T`.
        assert_eq!(
            format_utc(parse("2026-03-10 12:53:45Z").unwrap()),
            "2026-03-10T12:53:45Z"
        );
        let long = parse("2026-03-10T12:53:45.123456789123Z").unwrap();
        assert_eq!(long.nanosecond(), 123_456_789);
    }

    #[test]
    fn extreme_valid_times_keep_their_offset_instead_of_panicking() {
        // Regression: `to_offset(UTC)` panicked on these.
        for text in [
            "9999-12-31T23:59:59-05:00",
            "9999-12-31t23:59:59.999999999-23:59",
            "0000-01-01T00:00:00+01:00",
        ] {
            let at = parse(text).unwrap();
            let written = format_utc(at);
            assert_eq!(parse(&written).unwrap(), at, "{text} -> {written}");
        }
        assert_eq!(
            format_utc(parse("9999-12-31T23:59:59Z").unwrap()),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(
            format_utc(parse("0000-01-01T01:00:00+01:00").unwrap()),
            "0000-01-01T00:00:00Z"
        );
    }

    #[test]
    fn refuses_what_is_not_rfc_3339() {
        for bad in ["2026-03-10", "yesterday", "2026-13-10T12:00:00Z", "2026-03-10T12:00:00"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
