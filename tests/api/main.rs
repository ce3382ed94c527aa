//! Integration tests: the real `appconfigd` binary over a real socket, driven by the official
//! AWS SDK for Rust (and, in `cli`, the AWS CLI). Every test starts its own server on a fresh
//! database, so tests are independent and run in parallel.
//!
//! `cargo test --test api` runs them on SQLite; `APPCONFIGD_TEST_BACKEND=postgres cargo test
//! --test api` on PostgreSQL (see `harness`).

mod harness;
mod scenario;
mod support;

mod applications;
mod assignment;
mod auth;
mod cli;
mod concurrency;
mod dataplane;
mod deployments;
mod environments;
mod errors;
mod experiments;
mod extensions;
mod flags;
mod hosted_versions;
mod managed;
mod operator;
mod pagination;
mod parallel;
mod persistence;
mod profiles;
mod settings;
mod sources;
mod strategies;
mod tags;
mod treatments;
mod validate;
