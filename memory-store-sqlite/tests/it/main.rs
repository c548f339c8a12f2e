//! Integration tests of the SQLite store: the shared conformance suite and model test, plus
//! what only this backend has (files, migrations, event logs, crash safety, concurrency).

mod concurrency;
mod conformance;
mod crash;
mod differential;
mod event_log;
mod files;
mod job_locks;
mod migrations;
mod reopen;
mod support;
