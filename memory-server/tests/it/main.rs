//! End-to-end tests of the HTTP API: a real server on a loopback port over a real SQLite home.

mod access;
mod api;
mod consolidation;
mod isolation;
mod support;
