//! appconfigd: a self-hosted, wire-compatible AWS AppConfig.
//!
//! Layers, with dependencies pointing downwards only:
//! - `api`: Rust types generated from the AWS models (build.rs), shared by every layer.
//! - `wire`: HTTP, restJson1 routing/binding/validation from the AWS model, error rendering.
//! - `domain`: resources, rules and one function per AppConfig operation.
//! - `engine`: the durable deployment loop, extension targets and monitors (implements the
//!   domain's `Invoker`).
//! - `sources`: reads S3, SSM and Secrets Manager configuration sources through the AWS SDK
//!   (implements the domain's `SourceFetcher`).
//! - `store`: the `Store` trait with SQLite and PostgreSQL implementations.
//! - `dataplane`: AppConfigData sessions, agent-style reads and GetConfiguration, served
//!   from an in-memory snapshot with self-contained tokens.
//! - `server`: configuration and start-up that wires the layers together.
//! - `ops`, `console`, `cli`: metrics and probes, the web console, operator subcommands.

pub mod api;
pub mod cli;
pub mod console;
pub mod dataplane;
pub mod domain;
pub mod engine;
pub mod ops;
pub mod query;
pub mod server;
pub mod sources;
pub mod store;
pub mod wire;
