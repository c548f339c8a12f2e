//! The front door of the memory system: the HTTP API ([`http`], axum), the MCP server
//! ([`mcp`], rmcp) and a small blocking client of the HTTP API ([`client`]). The only crate
//! that knows HTTP, JSON wire shapes and MCP; the `memory` CLI hosts it (`memory serve`,
//! `memory mcp`) and uses its client for client mode.
//!
//! - [`dto`]: the wire shapes, one per answer, shared by HTTP, MCP and the CLI's `--json`.
//! - [`ops`]: the operations HTTP routes and MCP tools share.

pub mod client;
pub mod config;
pub mod dto;
pub mod http;
pub mod mcp;
pub mod ops;

pub use config::ServerConfig;
pub use http::{ApiError, RouterOptions, router, serve};
