pub mod access;
pub mod redact;
pub mod request;
pub mod token;
