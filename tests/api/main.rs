//! Integration tests against the machine's real Redis and PostgreSQL (and SQLite for the
//! embedded mode). One binary, one file per behaviour area.

mod helpers;

mod abuse;
mod accounts;
mod analysis;
mod audit;
mod bad_input;
mod bots;
mod clocks;
mod cluster;
mod cold_store;
mod crashes;
mod embedded;
mod lifecycle;
mod matchmaking;
mod options;
mod profiles;
mod realtime;
mod resilience;
