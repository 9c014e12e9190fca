pub mod app;
pub mod config;
pub mod handler;
pub mod runtime;
