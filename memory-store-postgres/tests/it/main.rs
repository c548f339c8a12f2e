//! Tests of the PostgreSQL store against a real server (`MEMORY_TEST_PG_URL`); each test has a
//! schema of its own, dropped afterwards.

mod change_feed;
mod conformance;
mod event_log;
mod processes;
