pub mod amlyze;
pub mod artemis;
pub mod cloudevents;
pub mod fields;
pub mod providers;
pub mod strict_json;
pub mod vendor;
