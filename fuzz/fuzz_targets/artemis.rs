//! Any bytes as an Artemis body: an event or a non-empty list of errors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

fuzz_target!(|data: &[u8]| {
    match intake::testing::artemis::parse(data, OffsetDateTime::UNIX_EPOCH, "fuzz-1") {
        Ok(parsed) => assert_eq!(parsed.events.len(), 1),
        Err(errors) => assert!(!errors.is_empty()),
    }
});
