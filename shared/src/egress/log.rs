//! What the functions write to their logs, kept short: ids and keys can be
//! as long as a body, and a CloudWatch record holds 256 KiB.

use platform::sqs::truncate;

/// A value as logged: at most 256 bytes (ids and keys can be as long as a body).
pub fn brief(text: &str) -> String {
    truncate(text, 256)
}

/// A list as logged: the first ten, each [`brief`], and how many more.
pub(crate) fn brief_list(items: &[String]) -> Vec<String> {
    let mut shown: Vec<String> = items.iter().take(10).map(|item| truncate(item, 128)).collect();
    if items.len() > 10 {
        shown.push(format!("(+{} more)", items.len() - 10));
    }
    shown
}

/// The message a panic carried.
pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// A log record's part of a large value holds at most this many bytes of it.
/// Each part is logged as a JSON string (so it can be read back from text
/// logs too), and a JSON log line escapes it again: at most four times as
/// long, which keeps every line under CloudWatch's 256 KiB.
pub const LOG_PART_BYTES: usize = 60 * 1024;

/// One numbered part of a value logged in parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPart {
    /// The first 32 hex digits of the whole value's SHA-256: names the whole.
    pub part_of: String,
    /// 1-based.
    pub number: usize,
    /// How many parts the whole value was split into.
    pub count: usize,
    /// The part as a JSON string.
    pub quoted: String,
}

/// `text` in numbered parts for the log, or `None` when it fits one record.
pub fn log_parts(text: &str) -> Option<Vec<LogPart>> {
    let pieces = split_text(text, LOG_PART_BYTES);
    if pieces.len() == 1 {
        return None;
    }
    let part_of = platform::sqs::sha256_hex(text.as_bytes())[..32].to_owned();
    let count = pieces.len();
    Some(
        pieces
            .iter()
            .enumerate()
            .map(|(index, piece)| LogPart {
                part_of: part_of.clone(),
                number: index + 1,
                count,
                quoted: serde_json::to_string(piece).unwrap_or_default(),
            })
            .collect(),
    )
}

/// Logs `$text` whole at ERROR: in the field `$whole`, or, when larger than
/// [`LOG_PART_BYTES`], in numbered `$part` records (`part_of` names the
/// whole, `part`/`parts` number it) that `recover` joins again. The other
/// fields (`$fields`) and the message go on every record. A macro because
/// tracing's field names are fixed at compile time.
macro_rules! error_in_parts {
    ($text:expr, $whole:ident, $part:ident, $message:expr; $($fields:tt)*) => {
        match $crate::egress::log::log_parts($text) {
            None => tracing::error!($($fields)*, $whole = %$text, "{}", $message),
            Some(parts) => {
                for part in parts {
                    tracing::error!(
                        $($fields)*,
                        part_of = %part.part_of,
                        part = part.number,
                        parts = part.count,
                        $part = %part.quoted,
                        "{}",
                        $message
                    );
                }
            }
        }
    };
}
pub(crate) use error_in_parts;

/// `text` in pieces of at most `max` bytes, cut on character boundaries.
pub fn split_text(text: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (part, tail) = rest.split_at(cut);
        parts.push(part);
        rest = tail;
    }
    parts.push(rest);
    parts
}
