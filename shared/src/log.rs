//! What the functions write to their logs, kept short: ids and keys can be
//! as long as a body, and a CloudWatch record holds 256 KiB.

use crate::limits::truncate;

/// A value as logged: at most 256 bytes (ids and keys can be as long as a body).
pub fn brief(text: &str) -> String {
    truncate(text, 256)
}

/// A list as logged: the first ten, each [`brief`], and how many more.
pub fn brief_list(items: &[String]) -> Vec<String> {
    let mut shown: Vec<String> = items.iter().take(10).map(|item| truncate(item, 128)).collect();
    if items.len() > 10 {
        shown.push(format!("(+{} more)", items.len() - 10));
    }
    shown
}

/// The message a panic carried.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
