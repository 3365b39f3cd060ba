//! Integration tests against the machine's real Redis and PostgreSQL (and SQLite for the
//! embedded mode). One binary, one file per behaviour area.

mod helpers;

mod accounts;
mod bad_input;
mod cold_store;
mod embedded;
mod lifecycle;
mod realtime;
mod resilience;
