//! Computer opponents. A bot is a player: an account flagged with its level (one per
//! level, created on first use, no password, no session), seated like anyone, its moves
//! played through the same move pipeline as a person's ([`Games::play_bot_move`]: the
//! game transaction, the database, the audit log, the commit that publishes).
//!
//! Who plays a bot's move: the instance that committed the move that gave the bot its
//! turn queues the turn ([`BotTurns`]) and plays it after the configured pause; if that
//! instance dies first, the bot's short turn clock
//! ([`BOT_TURN_SECS`](super::state::BOT_TURN_SECS)) runs out and the sweeper of any
//! instance queues the turn instead. However many instances try, the move is played
//! once: each one checks, under the game's lock, that the game still stands where its
//! search started, and the database's unique move number backs that up.
//!
//! The search runs on the blocking pool, at most one per core at a time, and is told to
//! stop after [`THINK_TIME`], so a bot answers within a second plus its pause.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::{mpsc, Semaphore};

use super::{
    domain::GameId,
    games::{GameChoices, Games},
    search::{new_solver, timed_search, Openings, SearchLimits},
    views::GameView,
    Drain, ServiceError, ServiceResult,
};
use crate::{
    cold::{Cold, Player},
    config::BotSettings,
    game::{bots::choose_move, BotLevel, Column, GameStatus},
};

/// How long a bot's exact search may run before it must answer with what it has; the
/// shallow fallback search after it takes the rest of the second.
pub const THINK_TIME: Duration = Duration::from_millis(750);
/// A node cap on top of the time limit (a release build searches ~10^7 nodes/s).
const MAX_NODES: u64 = 50_000_000;

/// The queue of bot turns this instance owes (cheap to clone). [`Games`] sends to it
/// after a commit that leaves a bot to move; the sweeper after a bot's turn ran out.
#[derive(Clone)]
pub struct BotTurns(mpsc::UnboundedSender<GameId>);

impl BotTurns {
    /// The queue and its receiving end (for [`Bots::spawn`]).
    pub fn channel() -> (BotTurns, mpsc::UnboundedReceiver<GameId>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (BotTurns(sender), receiver)
    }

    /// Queues the bot's turn in `game_id`.
    pub fn owe(&self, game_id: &GameId) {
        // Closed only while the instance shuts down; the sweeper of another one plays it.
        let _ = self.0.send(game_id.clone());
    }
}

/// The computer opponents: their accounts, games against them, and their turns.
pub struct Bots {
    games: Arc<Games>,
    cold: Cold,
    settings: BotSettings,
    openings: Openings,
    /// The bot accounts, once read or created.
    accounts: Mutex<HashMap<BotLevel, Player>>,
    /// Games whose bot turn this instance is playing now (one task per game).
    playing: Mutex<HashSet<GameId>>,
    thinking: Arc<Semaphore>,
    /// The receiving end of [`BotTurns`], until [`Bots::spawn`] takes it.
    turns: Mutex<Option<mpsc::UnboundedReceiver<GameId>>>,
}

impl Bots {
    pub fn new(
        games: Arc<Games>,
        cold: Cold,
        settings: BotSettings,
        openings: Openings,
        turns: mpsc::UnboundedReceiver<GameId>,
    ) -> Bots {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Bots {
            games,
            cold,
            settings,
            openings,
            accounts: Mutex::new(HashMap::new()),
            playing: Mutex::new(HashSet::new()),
            thinking: Arc::new(Semaphore::new(cores)),
            turns: Mutex::new(Some(turns)),
        }
    }

    /// The account of the bot of `level` (created on first use, by any instance).
    pub async fn account(&self, level: BotLevel) -> ServiceResult<Player> {
        if let Some(found) = self.accounts.lock().map_err(poisoned)?.get(&level) {
            return Ok(found.clone());
        }
        let player = self.cold.bot_player(level, &bot_name(level)).await?;
        self.accounts
            .lock()
            .map_err(poisoned)?
            .insert(level, player.clone());
        Ok(player)
    }

    /// Starts a game of `player` against the bot of `level`, from the position after the
    /// moves `start_from` (empty: the empty board, `player` in seat one); see
    /// [`Games::open_against`].
    pub async fn start_game(
        &self,
        player: &Player,
        level: BotLevel,
        move_time_limit_secs: Option<u32>,
        start_from: &[u8],
    ) -> ServiceResult<GameView> {
        let bot = self.account(level).await?;
        let choices = GameChoices {
            move_time_limit_secs,
            rated: Some(self.settings.games_rated),
            colour: None,
        };
        self.games
            .open_against(player, &bot, choices, start_from)
            .await
    }

    /// Plays the queued bot turns until the instance drains (once per instance).
    pub fn spawn(self: &Arc<Self>, drain: &Drain) -> tokio::task::JoinHandle<()> {
        let bots = Arc::clone(self);
        let mut drain = drain.watch();
        let taken = self.turns.lock().ok().and_then(|mut turns| turns.take());
        tokio::spawn(async move {
            let Some(mut turns) = taken else {
                return;
            };
            loop {
                let game_id = tokio::select! {
                    next = turns.recv() => match next {
                        Some(game_id) => game_id,
                        None => return,
                    },
                    _ = drain.changed() => return,
                };
                let newly = bots
                    .playing
                    .lock()
                    .is_ok_and(|mut p| p.insert(game_id.clone()));
                if newly {
                    let bots = Arc::clone(&bots);
                    tokio::spawn(async move { bots.take_turn(game_id).await });
                }
            }
        })
    }

    /// Pauses, then plays the bot's move in `game_id` if it is still the bot's turn.
    async fn take_turn(&self, game_id: GameId) {
        tokio::time::sleep(self.settings.move_delay).await;
        if let Err(err) = self.play_turn(&game_id).await {
            err.report();
            tracing::warn!(%game_id, error = %err, "bot move failed; the sweeper retries it");
        }
        if let Ok(mut playing) = self.playing.lock() {
            playing.remove(&game_id);
        }
    }

    async fn play_turn(&self, game_id: &GameId) -> ServiceResult<()> {
        let state = self.games.store.load(game_id).await?;
        let Some(level) = state.bot_to_move() else {
            return Ok(());
        };
        if state.status() != GameStatus::Active {
            return Ok(());
        }
        let bot = self.account(level).await?;
        let column = self.think(level, state.moves.clone()).await?;
        let column = Column::new(i64::from(column))?;
        let played = self
            .games
            .play_bot_move(&bot, game_id, state.moves.len(), column)
            .await?;
        if played {
            tracing::debug!(%game_id, level = level.as_str(), column = column.index(), "bot moved");
        }
        Ok(())
    }

    /// Chooses the bot's column on the blocking pool, stopping the search after
    /// [`THINK_TIME`].
    async fn think(&self, level: BotLevel, moves: Vec<u8>) -> ServiceResult<u8> {
        let slot = Arc::clone(&self.thinking)
            .acquire_owned()
            .await
            .map_err(|_| ServiceError::Unavailable)?;
        let openings = self.openings.clone();
        let limits = SearchLimits {
            time: THINK_TIME,
            floor: 0,
            max_nodes: MAX_NODES,
        };
        let column = timed_search(
            slot,
            limits,
            move || new_solver(openings),
            move |mut solver, budget| {
                choose_move(level, &moves, &mut rand::thread_rng(), &mut solver, budget)
            },
        )
        .await;
        column?.ok_or(ServiceError::GameOver)
    }
}

/// The account name of a bot: with a space, which people's names cannot have.
pub fn bot_name(level: BotLevel) -> String {
    let name = level.as_str();
    let mut capital = name.chars();
    let first = capital.next().map(|c| c.to_ascii_uppercase());
    format!("{}{} bot", first.unwrap_or_default(), capital.as_str())
}

fn poisoned<T>(_: T) -> ServiceError {
    ServiceError::Unavailable
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::Username;

    #[test]
    fn bot_names_cannot_be_registered_by_people() {
        assert_eq!(bot_name(BotLevel::Perfect), "Perfect bot");
        for level in BotLevel::ALL {
            assert!(Username::parse(&bot_name(level)).is_err());
        }
    }
}
