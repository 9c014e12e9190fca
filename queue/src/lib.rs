//! Typed messages of the KYC/AML webhook intake's queues.
//!
//! The intake puts one CloudEvents 1.0 structured JSON event per accepted
//! vendor callback on its events queue, and one [`QuarantineRecord`] per
//! refused request on its quarantine queue. [`Event`] reads any events-queue
//! body into a typed variant: an Artemis customer event, an Amlyze
//! `customer.updated`, or any other CloudEvent with its data kept.
//! Unknown enum values (the vendors add values) are kept verbatim in
//! `Unknown(String)` variants and listed by [`Event::unknown_enum_fields`];
//! fields added by a vendor later are kept in `extra`.
//!
//! A consumer Lambda function, in a dozen lines:
//!
//! ```no_run
//! use aws_lambda_events::sqs::SqsEventObj;
//! use intake_queue::{artemis::CustomerStatus, Event};
//! use lambda_runtime::{service_fn, LambdaEvent};
//!
//! async fn handle(batch: LambdaEvent<SqsEventObj<Event>>) -> Result<(), lambda_runtime::Error> {
//!     for message in batch.payload.records {
//!         match message.body {
//!             Event::Artemis(e) if e.data.status == CustomerStatus::Rejected => println!("rejected: {:?}", e.subject),
//!             Event::AmlyzeCustomerUpdated(e) if e.data.sanctioned == Some(true) => println!("sanctioned: {:?}", e.subject),
//!             other => println!("{} {}", other.attributes().kind, other.attributes().dedupekey),
//!         }
//!     }
//!     Ok(())
//! }
//!
//! # async fn run() -> Result<(), lambda_runtime::Error> {
//! lambda_runtime::run(service_fn(handle)).await
//! # }
//! ```
//!
//! Decoding the whole batch at once fails the whole batch on one bad body;
//! to report failures message by message (`ReportBatchItemFailures`), take
//! `SqsEvent` and call [`Event::from_json`] on each body (the reference
//! consumer in the intake's repository does).
//!
//! A deployment's probe (`make verify`) is an event like the others, from no
//! vendor: [`Event::is_probe`] tells it (its type ends in `.probe`); skip it.
//!
//! Deduplicate and order with the envelope's attributes: `dedupekey` (the
//! vendor's idempotency key) and `time`. Neither vendor guarantees order.
//!
//! The reference consumer publishes what changed to an SNS topic: one
//! [`Transition`] per applied change of a customer's state, with message
//! attributes for filter policies ([`transition`]).
//!
//! Features: `schema` generates the JSON Schemas ([`schema::files`]);
//! `validate` checks a body against them.

#![warn(missing_docs)]

pub mod amlyze;
pub mod artemis;
mod event;
pub mod open_enum;
pub mod quarantine;
#[cfg(feature = "schema")]
pub mod schema;
pub mod transition;

pub use event::{Attributes, CloudEvent, Data, Event, PROBE_SUBJECT, PROBE_TYPE_SUFFIX};

/// Every vendor's name as the queue writes it in `provider`, in one list:
/// the schema's list of providers is built from it, and the intake checks
/// that the vendors it serves are exactly these.
pub const PROVIDERS: &[&str] = &[artemis::PROVIDER, amlyze::PROVIDER];
pub use open_enum::OpenEnum;
pub use quarantine::{FieldError, QuarantineRecord};
pub use transition::Transition;
