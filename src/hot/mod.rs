//! Hot state: what every instance must see at once while games are played — a game's
//! versioned state, its move lock, presence, rematch votes, online players. A
//! [`HotStore`] is chosen once at start-up: [`RedisHotStore`] in a cluster,
//! [`MemoryHotStore`] in the embedded mode. Both keep the same invariants:
//! - a lock is released only by the holder of its token, and expires on its own;
//! - [`HotStore::commit`] writes a new state only if the caller still holds the lock
//!   and the stored version is the one it read, and publishes the event and releases
//!   the lock in the same atomic step, so broadcasts go out in commit order;
//! - taking a game's lock also leaves a *write intent* (the holder's token) that only a
//!   commit or an unlock by that holder removes. An intent whose lock is gone marks a
//!   holder that died (or stalled past the lock's TTL) in the middle of a change: the
//!   next reader or holder is told ([`Loaded::interrupted`]) so it can converge the hot
//!   state with the database before anything else happens to the game.

mod keys;
mod memory;
mod redis;

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use self::keys::Keys;
pub use self::memory::MemoryHotStore;
pub use self::redis::{connect_cluster, connect_single, RedisBackend, RedisHotStore, RedisLinks};

/// Errors of the hot store (a Redis failure; the memory store never fails).
#[derive(Debug, thiserror::Error)]
pub enum HotError {
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("corrupt hot state: {0}")]
    Corrupt(String),
    #[error("encoding a hot value: {0}")]
    Encode(#[from] serde_json::Error),
}

/// How long the [`MatchRecord::Pending`] marker of a pairing lives: far longer than
/// creating a game takes, so it outlives every pairing that is still in progress.
pub const PENDING_MATCH_TTL: Duration = Duration::from_secs(30);

/// What the hot store remembers of a matched player, stored as JSON. The `|`-joined
/// values of earlier versions (`pending:<ms>`, `<game id>|<seat>`) are not read: a
/// rolling deploy does not need them, since a record the new version cannot read is
/// treated as absent (the player polls as not queued, the lobby push has told it its
/// game already) and expires on its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MatchRecord {
    /// Paired at `since_ms` (epoch ms); its game is being created. Written for both
    /// players in the step that takes them out of the queue, for [`PENDING_MATCH_TTL`].
    Pending { since_ms: i64 },
    /// Matched into `game_id`, in seat `seat` (1 or 2).
    Game { game_id: String, seat: u8 },
}

impl MatchRecord {
    fn encode(&self) -> Result<String, HotError> {
        Ok(serde_json::to_string(self)?)
    }

    fn decode(text: &str) -> Option<MatchRecord> {
        serde_json::from_str(text).ok()
    }
}

/// One open socket in a game's presence, stored as JSON (a sorted set's member).
/// Entries of earlier versions (`<role>|<instance>|<socket>`) are skipped: they stop
/// counting within the presence window once their instance is replaced.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PresenceMember {
    /// The seat the socket plays (1 or 2); `None` for a spectator.
    pub seat: Option<u8>,
    pub instance: String,
    pub socket: u64,
}

impl PresenceMember {
    fn encode(&self) -> Result<String, HotError> {
        Ok(serde_json::to_string(self)?)
    }

    fn decode(text: &str) -> Option<PresenceMember> {
        serde_json::from_str(text).ok()
    }
}

/// The two kinds of deadline the sweeper watches (one index each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Due when the player to move runs out of time.
    TurnDeadline,
    /// Due when a disconnected seat's grace period ends.
    Abandonment,
}

/// An entry of a timer index.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Deadline {
    /// The move clock of a game; stored as the bare game id (the commit script writes it).
    Turn { game_id: String },
    /// The grace period of a disconnected seat (1 or 2); stored as JSON. Entries of
    /// earlier versions (`<game id>|<seat>`) can't be read and are dropped from the index.
    Abandonment { game_id: String, seat: u8 },
}

/// The stored form of [`Deadline::Abandonment`].
#[derive(Serialize, Deserialize)]
struct AbsentSeat {
    game_id: String,
    seat: u8,
}

impl Deadline {
    pub fn turn(game_id: &str) -> Deadline {
        Deadline::Turn {
            game_id: game_id.to_string(),
        }
    }

    pub fn timer(&self) -> Timer {
        match self {
            Deadline::Turn { .. } => Timer::TurnDeadline,
            Deadline::Abandonment { .. } => Timer::Abandonment,
        }
    }

    pub fn game_id(&self) -> &str {
        match self {
            Deadline::Turn { game_id } | Deadline::Abandonment { game_id, .. } => game_id,
        }
    }

    /// The member of its index.
    fn encode(&self) -> Result<String, HotError> {
        Ok(match self {
            Deadline::Turn { game_id } => game_id.clone(),
            Deadline::Abandonment { game_id, seat } => serde_json::to_string(&AbsentSeat {
                game_id: game_id.clone(),
                seat: *seat,
            })?,
        })
    }

    /// Reads a member of `timer`'s index; `None` if it is not one this version writes.
    fn decode(timer: Timer, member: &str) -> Option<Deadline> {
        match timer {
            Timer::TurnDeadline => Some(Deadline::turn(member)),
            Timer::Abandonment => serde_json::from_str(member)
                .ok()
                .map(|AbsentSeat { game_id, seat }| Deadline::Abandonment { game_id, seat }),
        }
    }
}

/// How far apart two queued ratings may be to pair: each player's window starts at
/// `base` and widens by `widen_per_second` while it waits, up to `cap`; two players are
/// compatible when their difference fits the wider of their two windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairingRules {
    pub base: i64,
    pub widen_per_second: i64,
    pub cap: i64,
    /// Entries not refreshed (join or status) for this long leave the queue.
    pub stale_ms: i64,
}

impl PairingRules {
    /// The window of a player who has waited `waited_ms`.
    pub fn window(&self, waited_ms: i64) -> i64 {
        (self.base + self.widen_per_second * (waited_ms.max(0) / 1000)).min(self.cap)
    }
}

/// A game's state as stored: its version and its serialized form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versioned {
    pub version: u64,
    pub state: String,
}

/// A game's state as read, and whether a previous lock holder was interrupted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// `None`: the game has no hot state (never stored, expired, or Redis lost it).
    pub state: Option<Versioned>,
    /// A write intent was left by a lock holder that neither committed nor released:
    /// the database may be ahead of this state.
    pub interrupted: bool,
}

/// How a lock holder lets go without committing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// Nothing was written anywhere: lock and intent go.
    Clean,
    /// The database may have been written: the intent stays for the next holder.
    Interrupted,
}

/// A state change to commit under a lock.
pub struct Commit<'a> {
    pub lock_token: &'a str,
    /// The version read under the lock; `None` when the game had no hot state.
    pub expected_version: Option<u64>,
    pub new: Versioned,
    /// Published on the game's channel, in order, in the same atomic step.
    pub events: Vec<String>,
    pub ttl: Duration,
    /// The game's entry in the [`Timer::TurnDeadline`] index: due at this time, or
    /// removed (`None`). Written in the same atomic step where the store can (memory,
    /// a single Redis); right after the commit on Redis Cluster, where the index lives
    /// in another slot.
    pub turn_deadline_ms: Option<i64>,
}

/// How a commit ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitOutcome {
    Committed,
    /// The lock expired (or was never held); nothing was written.
    LockLost,
    /// Someone else changed the state; nothing was written.
    VersionChanged,
}

/// Shared hot state of games and players.
#[async_trait]
pub trait HotStore: Send + Sync {
    /// The game's state, if present (and refreshes its TTL), and whether a write intent
    /// was left without its lock (see [`Loaded::interrupted`]).
    async fn load(&self, game_id: &str, ttl: Duration) -> Result<Loaded, HotError>;
    /// Stores a state only if the game has none. True when stored.
    async fn create(
        &self,
        game_id: &str,
        state: &Versioned,
        ttl: Duration,
    ) -> Result<bool, HotError>;
    /// Tries once to take the game's lock; when taken, records the holder's write
    /// intent (kept for `state_ttl`) and loads the state as [`load`] does, reporting an
    /// intent a previous holder left behind. `None`: the lock is held by someone else.
    /// Redis does all of it in one round trip.
    ///
    /// [`load`]: HotStore::load
    async fn try_lock_and_load(
        &self,
        game_id: &str,
        token: &str,
        lock_ttl: Duration,
        state_ttl: Duration,
    ) -> Result<Option<Loaded>, HotError>;
    /// Releases the lock if `token` still holds it; with [`Release::Clean`] its write
    /// intent goes too, with [`Release::Interrupted`] the intent stays, so the next
    /// reader or holder reconciles the game with the database.
    async fn unlock(&self, game_id: &str, token: &str, release: Release) -> Result<(), HotError>;
    /// Compare-and-set + publish + unlock (clearing the write intent), atomically.
    async fn commit(&self, game_id: &str, commit: Commit<'_>) -> Result<CommitOutcome, HotError>;
    /// Publishes an event on a channel (see [`Keys`]) without changing any state.
    async fn publish(&self, channel: &str, event: &str) -> Result<(), HotError>;

    /// Records (or refreshes) an open socket of the game.
    async fn presence_touch(
        &self,
        game_id: &str,
        member: &PresenceMember,
        now_ms: i64,
    ) -> Result<(), HotError>;
    /// Forgets a closed socket.
    async fn presence_remove(&self, game_id: &str, member: &PresenceMember)
        -> Result<(), HotError>;
    /// Sockets refreshed since `since_ms` (inclusive), over the whole cluster, in no
    /// particular order.
    async fn presence_members(
        &self,
        game_id: &str,
        since_ms: i64,
    ) -> Result<Vec<PresenceMember>, HotError>;

    /// Marks a player online at `now_ms`.
    async fn online_touch(&self, player_id: i64, now_ms: i64) -> Result<(), HotError>;
    /// Players seen since `since_ms`, over the whole cluster.
    async fn online_count(&self, since_ms: i64) -> Result<u64, HotError>;

    /// Records a seat's rematch vote. Returns the number of distinct votes and whether
    /// this vote completed the pair: exactly one caller ever sees `true` for a game.
    async fn rematch_vote(
        &self,
        game_id: &str,
        seat: u8,
        ttl: Duration,
    ) -> Result<(u8, bool), HotError>;

    /// Puts a player in the matchmaking queue (or refreshes its entry).
    async fn queue_join(&self, player_id: i64, rating: i32, now_ms: i64) -> Result<(), HotError>;
    /// Atomically pairs a queued player with the closest compatible partner (see
    /// [`PairingRules`]), takes both out of the queue and marks both
    /// [`MatchRecord::Pending`] since `now_ms`. Among partners equally close in rating,
    /// the one who joined first wins, then the lower player id. `None`: nobody fits
    /// yet, or the player is no longer queued. Also drops entries not heard of for
    /// `stale_ms`.
    async fn queue_try_pair(
        &self,
        player_id: i64,
        now_ms: i64,
        rules: PairingRules,
    ) -> Result<Option<i64>, HotError>;
    /// Takes a player out of the queue; false if it was not queued.
    async fn queue_leave(&self, player_id: i64) -> Result<bool, HotError>;
    /// How many players are queued.
    async fn queue_size(&self) -> Result<u64, HotError>;
    /// 1-based position by joining time, then player id (if queued), and queue size;
    /// refreshes the entry.
    async fn queue_status(
        &self,
        player_id: i64,
        now_ms: i64,
    ) -> Result<(Option<u64>, u64), HotError>;
    /// Queued players, longest waiting first (then by player id), at most `limit`.
    async fn queue_players(&self, limit: usize) -> Result<Vec<i64>, HotError>;
    /// Remembers the game a player was matched into; a paired player's record is
    /// [`MatchRecord::Pending`] until its game exists.
    async fn set_match(
        &self,
        player_id: i64,
        record: &MatchRecord,
        ttl: Duration,
    ) -> Result<(), HotError>;
    async fn get_match(&self, player_id: i64) -> Result<Option<MatchRecord>, HotError>;
    async fn clear_match(&self, player_id: i64) -> Result<(), HotError>;

    /// Schedules (or moves) a deadline in its index.
    async fn schedule(&self, deadline: &Deadline, due_ms: i64) -> Result<(), HotError>;
    async fn unschedule(&self, deadline: &Deadline) -> Result<(), HotError>;
    /// Deadlines of `timer` due at `now_ms` (inclusive), earliest first, at most `limit`.
    /// Entries this version cannot read are dropped from the index.
    async fn due(&self, timer: Timer, now_ms: i64, limit: usize)
        -> Result<Vec<Deadline>, HotError>;

    /// Counts one attempt against `key` (a rate-limit name from [`Keys`]) in a fixed
    /// window that opens with the first attempt. Returns the attempts counted in the
    /// window so far, this one included, and how long until the window closes. Every
    /// instance counts in the same place, so N instances don't grant N budgets.
    async fn count_attempt(&self, key: &str, window: Duration)
        -> Result<(u64, Duration), HotError>;
    /// Forgets the attempts counted against `key`.
    async fn clear_attempts(&self, key: &str) -> Result<(), HotError>;
    /// True while the timer indexes are known to be complete: false on a store that
    /// started empty or lost its keys, until [`HotStore::mark_clocks_armed`].
    async fn clocks_armed(&self) -> Result<bool, HotError>;
    /// Records that every active game's clock has been scheduled.
    async fn mark_clocks_armed(&self) -> Result<(), HotError>;

    /// True when the store answers.
    async fn ping(&self) -> Result<(), HotError>;
}
