pub mod app;
pub mod config;
pub mod enqueue;
pub mod handler;
pub mod rerun;
pub mod runtime;
