//! Every message the tests put on a queue is checked against the committed
//! JSON Schemas (`schemas/`), with a real JSON Schema validator: the strict
//! proxy in front of moto ([`crate::faults`]) and the in-memory queues of the
//! in-process tests refuse a body that breaks them, as SQS refuses a message
//! that breaks its rules.

use intake_queue::schema::Validator;
use platform::sqs::Message;

/// Which schema a queue's messages follow, from the queue's name: a
/// `…quarantine…` queue holds quarantine records, a dead-letter queue
/// (`…dlq…`) whatever failed, unchecked; every other queue is an events queue.
pub fn check_body(queue_url: &str, body: &str) -> Result<(), String> {
    let name = queue_url.rsplit('/').next().unwrap_or_default();
    let validator = Validator::get();
    let checked = if name.contains("quarantine") {
        validator.quarantine_record(body)
    } else if name.contains("dlq") {
        return Ok(());
    } else {
        validator.event(body)
    };
    checked.map_err(|errors| format!("the body breaks the queue's JSON Schema: {}", errors.join("; ")))
}

/// [`check_body`] in the shape [`intake::testing::MemoryQueues::checked_by`] takes.
pub fn check_message(queue_url: &str, message: &Message) -> Result<(), String> {
    check_body(queue_url, &message.body)
}
