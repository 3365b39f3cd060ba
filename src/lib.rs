//! Connect 4 Arena: a real-time Connect 4 server that scales out. Several stateless
//! instances share hot state through Redis, fan broadcasts out through one Redis
//! Pub/Sub channel per game, keep players, games, moves and ratings in PostgreSQL, and
//! append every event to an audit log. With no Redis configured it runs embedded: one
//! instance, in-process hot state and fan-out, SQLite.
//!
//! The layers, one module each:
//! - [`game`]: the pure rules — board (bitboards), moves, wins and draws, Elo ratings,
//!   a game's lifecycle. No I/O.
//! - [`hot`]: hot state behind the `HotStore` trait (Redis, or memory): versioned game
//!   state, owner-checked locks, presence, rematch votes. Key names live in `hot/keys.rs`.
//! - [`fanout`]: per-game broadcast to local sockets, fed by Redis Pub/Sub (or in process).
//! - [`cold`]: sea-orm entities and queries; settles each game once, in one transaction.
//! - [`audit`]: the hash-chained, append-only JSONL event log, its chain heads anchored
//!   in the database, and its verifier (chains, anchors, audit vs the moves table).
//! - [`service`]: the use-cases, shared by REST and WebSocket, one type per concept
//!   (`GameStore` with the game transaction, `Games`, `Matchmaking`, `Connections`,
//!   `Sweeper`, `Views`, `Accounts`), held together by `AppState`.
//! - [`api`]: poem-openapi resources, the WebSocket, errors mapped to HTTP in one place.
//! - [`server`]: start-up, serving, graceful drain; [`config`] and [`telemetry`].
//! - [`failpoint`]: named crash points for fault-injection tests (a test-only feature).

pub mod api;
pub mod audit;
pub mod cold;
pub mod config;
pub mod failpoint;
pub mod fanout;
pub mod game;
pub mod hot;
pub mod server;
pub mod service;
pub mod telemetry;

pub use config::{Config, HotMode};
pub use server::Application;
