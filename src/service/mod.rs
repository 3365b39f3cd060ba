//! The use-cases, transport-agnostic: REST handlers and the WebSocket call the same
//! functions, so a move means the same thing on both. One type per concept, each
//! holding only what it needs, wired once in [`AppState::new`]:
//!
//! - [`GameStore`] (`transaction.rs`, `rebuild.rs`): where games live, and the one way a
//!   game changes — the game transaction. Owns the game keys of the hot store.
//! - [`Games`] (`games.rs`, `moves.rs`, `rematch.rs`, `draw.rs`, `emotes.rs`): create
//!   (with its options), join, cancel, move, resign, abort, offer and answer draws, time
//!   out, abandon, rematch — each through a game transaction — and relay emotes.
//! - [`Matchmaking`]: the rating-window queue; opens the games of its pairs with [`Games`].
//! - [`Connections`]: who is connected to a game (presence, viewers, online players),
//!   and abandonment timers when a seat's last socket closes.
//! - [`Sweeper`]: the background sweep — clocks, abandonments, expired waiting games,
//!   re-pairing the queue.
//! - [`Views`] (`reads.rs`): the read side; [`views`] holds the shapes clients see.
//! - [`Accounts`]: sign-ups, log-ins, sessions, bounded password hashing.
//! - [`Analysis`] (`analysis.rs`): the solver's verdict on every move of a game, cached
//!   per position, one search at a time.
//! - [`Bots`] (`bots.rs`): the computer opponents — their accounts, games against them,
//!   and their turns, played through [`Games`] like anyone's moves.
//! - [`Profiles`]: the public profile of a player (record, rating history,
//!   head-to-head), read from the database alone.
//! - [`Broadcasts`]: the per-game and per-player channels.
//!
//! Every change of a game goes through one type, the game transaction: take the game's
//! lock (random token, short TTL, and a write intent that outlives a dead holder), load
//! the hot state — reconciled with the database first if a previous holder was
//! interrupted, rebuilt if missing — validate with the rules engine, write the
//! database, write the audit lines, then commit the hot state with a compare-and-set
//! that also publishes the broadcast and releases the lock. The database is the
//! record: the hot state is never ahead of it, and the unique `(game_id, move_number)`
//! makes a move durable exactly once.

mod accounts;
pub mod analysis;
mod bots;
mod broadcasts;
mod connections;
mod domain;
mod draw;
mod emotes;
mod error;
mod games;
mod matchmaking;
mod moves;
pub mod profiles;
pub mod protocol;
mod reads;
mod rebuild;
mod rematch;
mod search;
pub mod state;
mod sweeper;
mod transaction;
pub mod views;

use std::sync::Arc;

use tokio::sync::watch;

pub use accounts::{Accounts, Registered};
pub use analysis::Analysis;
pub use bots::{bot_name, BotTurns, Bots, THINK_TIME};
pub use broadcasts::Broadcasts;
pub use connections::{Connections, Presence, Role, SocketPresence, PRESENCE_REFRESH};
pub use domain::{Colour, Emote, GameId, Password, Username};
pub use draw::DrawAction;
pub use error::{retry_secs, ServiceError};
pub use games::{GameChoices, Games};
pub use matchmaking::{Matchmaking, PAIRING};
pub use profiles::Profiles;
pub use reads::Views;
pub use search::Openings;
pub use sweeper::{Sweeper, SWEEP_INTERVAL};
pub use transaction::GameStore;

use crate::{
    audit::AuditLog,
    cold::Cold,
    config::Config,
    fanout::Fanout,
    hot::{HotStore, Keys},
    telemetry::Metrics,
};

/// Result of a use-case.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// The services, built once at start-up and held by the API layer. A thin container:
/// the use-cases live on the services themselves.
pub struct AppState {
    pub config: Config,
    pub metrics: Arc<Metrics>,
    pub accounts: Arc<Accounts>,
    pub games: Arc<Games>,
    pub matchmaking: Arc<Matchmaking>,
    pub connections: Arc<Connections>,
    pub broadcasts: Arc<Broadcasts>,
    pub views: Arc<Views>,
    pub profiles: Arc<Profiles>,
    pub bots: Arc<Bots>,
    pub analysis: Arc<Analysis>,
    pub sweeper: Arc<Sweeper>,
    pub drain: Drain,
    /// The stores, for readiness checks and shutdown.
    pub hot: Arc<dyn HotStore>,
    pub cold: Cold,
    pub audit: Arc<AuditLog>,
}

impl AppState {
    /// Wires the services; each one's dependencies are its constructor's arguments.
    pub fn new(
        config: Config,
        keys: Keys,
        hot: Arc<dyn HotStore>,
        fanout: Arc<dyn Fanout>,
        cold: Cold,
        audit: AuditLog,
        metrics: Arc<Metrics>,
    ) -> AppState {
        let audit = Arc::new(audit);
        let drain = Drain::new();
        let broadcasts = Arc::new(Broadcasts::new(
            Arc::clone(&hot),
            fanout,
            keys.clone(),
            Arc::clone(&metrics),
        ));
        let (bot_turns, bot_queue) = BotTurns::channel();
        let store = GameStore::new(
            Arc::clone(&hot),
            cold.clone(),
            Arc::clone(&audit),
            Arc::clone(&metrics),
            &config.instance_id,
            config.game_ttl,
        );
        let (store, games, matchmaking) =
            game_services(&config, &keys, store, &broadcasts, bot_turns);
        let (connections, accounts) = player_services(&config, keys, &store, &broadcasts, &drain);
        let openings = Openings::embedded();
        let (bots, sweeper) = background_services(
            &config,
            openings.clone(),
            &store,
            &games,
            &matchmaking,
            &connections,
            bot_queue,
        );
        let (views, profiles) = read_services(&store, &connections, &matchmaking);
        AppState {
            views,
            profiles,
            bots,
            analysis: Arc::new(Analysis::new(store, openings)),
            sweeper,
            config,
            metrics,
            accounts,
            games,
            matchmaking,
            connections,
            broadcasts,
            drain,
            hot,
            cold,
            audit,
        }
    }

    /// This instance's id (audit file name, presence members, metrics label).
    pub fn instance(&self) -> &str {
        &self.config.instance_id
    }

    /// Checks both stores answer.
    pub async fn check_ready(&self) -> ServiceResult<()> {
        self.hot.ping().await?;
        self.cold.ping().await?;
        Ok(())
    }
}

/// The game transaction's store and the services that change games through it.
fn game_services(
    config: &Config,
    keys: &Keys,
    store: GameStore,
    broadcasts: &Arc<Broadcasts>,
    bot_turns: BotTurns,
) -> (Arc<GameStore>, Arc<Games>, Arc<Matchmaking>) {
    let store = Arc::new(store);
    let games = Arc::new(Games::new(
        Arc::clone(&store),
        Arc::clone(broadcasts),
        keys.clone(),
        config.move_time_limit_secs,
        bot_turns,
    ));
    let matchmaking = Arc::new(Matchmaking::new(
        Arc::clone(&store),
        Arc::clone(broadcasts),
        Arc::clone(&games),
    ));
    (store, games, matchmaking)
}

/// The players' side: their sockets' presence, and their accounts.
fn player_services(
    config: &Config,
    keys: Keys,
    store: &GameStore,
    broadcasts: &Arc<Broadcasts>,
    drain: &Drain,
) -> (Arc<Connections>, Arc<Accounts>) {
    let connections = Connections::new(
        Arc::clone(&store.hot),
        Arc::clone(broadcasts),
        drain.clone(),
        &config.instance_id,
        config.abandon_grace,
    );
    let accounts = Accounts::new(
        store.cold.clone(),
        Arc::clone(&store.hot),
        keys,
        Arc::clone(&store.audit),
        config.limits.clone(),
    );
    (Arc::new(connections), Arc::new(accounts))
}

/// What works in the background: the computer opponents' turns, and the sweep.
fn background_services(
    config: &Config,
    openings: Openings,
    store: &Arc<GameStore>,
    games: &Arc<Games>,
    matchmaking: &Arc<Matchmaking>,
    connections: &Arc<Connections>,
    bot_queue: tokio::sync::mpsc::UnboundedReceiver<GameId>,
) -> (Arc<Bots>, Arc<Sweeper>) {
    let bots = Bots::new(
        Arc::clone(games),
        store.cold.clone(),
        config.bots.clone(),
        openings,
        bot_queue,
    );
    let sweeper = Sweeper::new(
        Arc::clone(store),
        Arc::clone(games),
        Arc::clone(matchmaking),
        Arc::clone(connections),
        config.waiting_game_ttl,
    );
    (Arc::new(bots), Arc::new(sweeper))
}

/// The read side: games and lists (hot and cold), profiles (cold alone).
fn read_services(
    store: &Arc<GameStore>,
    connections: &Arc<Connections>,
    matchmaking: &Arc<Matchmaking>,
) -> (Arc<Views>, Arc<Profiles>) {
    let views = Views::new(
        Arc::clone(store),
        store.cold.clone(),
        Arc::clone(connections),
        Arc::clone(matchmaking),
    );
    (Arc::new(views), Arc::new(Profiles::new(store.cold.clone())))
}

/// Whether the instance is draining (shutting down): it is then not ready, its sockets
/// are told to reconnect elsewhere, and its background tasks stop. Cheap to clone.
#[derive(Clone)]
pub struct Drain(Arc<watch::Sender<bool>>);

impl Drain {
    fn new() -> Drain {
        Drain(Arc::new(watch::channel(false).0))
    }

    /// Marks the instance as draining.
    pub fn start(&self) {
        self.0.send_replace(true);
    }

    pub fn is_draining(&self) -> bool {
        *self.0.borrow()
    }

    /// Changes when the instance starts draining (for socket and background tasks).
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }
}

/// Current time in epoch milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
