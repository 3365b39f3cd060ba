//! What clients see: the JSON shapes shared by REST responses and WebSocket messages.
//! They derive both `poem_openapi::Object` (so `/openapi.json` documents them) and
//! `serde::Serialize` (so the WebSocket sends the very same shape); defining them once
//! here keeps the two transports from drifting apart.

use chrono::{DateTime, SecondsFormat, Utc};
use poem_openapi::Object;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{cold::Player, game::BotLevel};

/// How times are shown to clients: RFC 3339, whole seconds, UTC.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A player as shown next to a game or in a list.
#[derive(Clone, Debug, PartialEq, Eq, Object, Serialize, Deserialize, JsonSchema)]
pub struct PlayerRef {
    pub id: i64,
    pub username: String,
    pub elo_rating: i32,
    /// The level of a computer opponent; absent for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub bot: Option<Bot>,
}

/// The level of a computer opponent, as clients see it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, poem_openapi::Enum, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum Bot {
    Easy,
    Medium,
    Perfect,
}

impl From<BotLevel> for Bot {
    fn from(level: BotLevel) -> Bot {
        match level {
            BotLevel::Easy => Bot::Easy,
            BotLevel::Medium => Bot::Medium,
            BotLevel::Perfect => Bot::Perfect,
        }
    }
}

impl From<Bot> for BotLevel {
    fn from(bot: Bot) -> BotLevel {
        match bot {
            Bot::Easy => BotLevel::Easy,
            Bot::Medium => BotLevel::Medium,
            Bot::Perfect => BotLevel::Perfect,
        }
    }
}

impl From<&Player> for PlayerRef {
    fn from(player: &Player) -> PlayerRef {
        PlayerRef {
            id: player.id,
            username: player.username.clone(),
            elo_rating: player.elo_rating,
            bot: player.bot.map(Bot::from),
        }
    }
}

/// A cell of the board.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Object, Serialize, JsonSchema)]
pub struct LastMove {
    pub player: u8,
    pub column: u8,
    pub row: u8,
}

/// The full state of a game.
#[derive(Clone, Debug, Object, Serialize, JsonSchema)]
pub struct GameView {
    pub game_id: String,
    /// `waiting` | `active` | `finished` | `abandoned` | `cancelled`.
    pub status: String,
    /// `board[row][column]`, row 0 at the top; 0 empty, 1 / 2 the seats.
    pub board: Vec<Vec<u8>>,
    pub next_player: u8,
    /// State version: +1 on every change of the game.
    pub seq: u64,
    pub move_count: u32,
    pub player1: PlayerRef,
    pub player2: Option<PlayerRef>,
    pub winner: Option<u8>,
    pub winner_id: Option<i64>,
    pub draw: bool,
    /// `[row, column]` pairs of the winning line(s).
    pub winning_cells: Vec<[u8; 2]>,
    pub last_move: Option<LastMove>,
    /// `four_in_a_row` | `draw` | `draw_agreed` | `resign` | `timeout` | `abandoned` |
    /// `aborted` | `cancelled`.
    pub end_reason: Option<String>,
    pub move_time_limit_secs: u32,
    /// False for a casual game: its result moves no rating.
    pub rated: bool,
    /// The creator's colour choice: `first` | `second` | `random`. While the game waits
    /// the creator is `player1`; the seats are settled when an opponent joins.
    pub colour: String,
    /// The seat (1 or 2) with a pending draw offer, if any.
    pub draw_offer: Option<u8>,
    /// When the player to move runs out of time (epoch ms, server clock).
    pub turn_deadline_ms: Option<i64>,
    pub rematch_game_id: Option<String>,
    pub created_at: String,
}

/// A move as broadcast to every socket of the game and returned by `POST /games/{id}/move`.
#[derive(Clone, Debug, Object, Serialize, JsonSchema)]
pub struct MoveEvent {
    /// Always `move`. On the WebSocket the tag of `protocol::ServerMessage::Move` writes it.
    #[oai(rename = "type")]
    #[serde(skip)]
    pub kind: String,
    pub game_id: String,
    pub seq: u64,
    pub player: u8,
    pub player_id: i64,
    pub column: u8,
    pub row: u8,
    pub board: Vec<Vec<u8>>,
    pub next_player: u8,
    pub winner: Option<u8>,
    pub winner_id: Option<i64>,
    pub draw: bool,
    pub winning_cells: Vec<[u8; 2]>,
    pub status: String,
    pub move_count: u32,
    pub turn_deadline_ms: Option<i64>,
}

/// A stored move, for replays.
#[derive(Clone, Debug, Object, Serialize)]
pub struct MoveRecord {
    pub move_number: u32,
    pub player: u8,
    pub player_id: i64,
    pub column: u8,
    pub row: u8,
    pub created_at: String,
}

/// A game waiting for an opponent.
#[derive(Clone, Debug, Object, Serialize)]
pub struct WaitingGame {
    pub game_id: String,
    pub player1: PlayerRef,
    pub created_at: String,
    pub move_time_limit_secs: u32,
    /// False for a casual game.
    pub rated: bool,
    /// The creator's colour choice: `first` | `second` | `random`.
    pub colour: String,
}

/// A finished game in the recent list.
#[derive(Clone, Debug, Object, Serialize)]
pub struct GameSummary {
    pub game_id: String,
    pub status: String,
    pub player1: PlayerRef,
    pub player2: Option<PlayerRef>,
    pub winner_id: Option<i64>,
    pub draw: bool,
    pub end_reason: Option<String>,
    pub move_count: u32,
    pub finished_at: Option<String>,
}

/// A game in progress, for spectators.
#[derive(Clone, Debug, Object, Serialize)]
pub struct LiveGame {
    pub game_id: String,
    pub player1: PlayerRef,
    pub player2: Option<PlayerRef>,
    pub move_count: u32,
    pub viewers: u32,
    pub started_at: Option<String>,
    /// False for a casual game.
    pub rated: bool,
}

/// One game of a player's history, from that player's side.
#[derive(Clone, Debug, Object, Serialize)]
pub struct HistoryEntry {
    pub game_id: String,
    pub status: String,
    /// `win` | `loss` | `draw` | `abandoned` | `aborted` | `cancelled` | `in_progress` |
    /// `waiting`.
    pub result: String,
    pub end_reason: Option<String>,
    pub my_player: u8,
    pub opponent_id: Option<i64>,
    pub opponent_username: Option<String>,
    pub move_count: u32,
    pub rating_change: Option<i32>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// A player's record.
#[derive(Clone, Debug, Object, Serialize)]
pub struct PlayerStats {
    pub player_id: i64,
    pub username: String,
    pub elo_rating: i32,
    pub total_games: u32,
    pub wins: u32,
    pub losses: u32,
    pub draws: u32,
    /// Wins / total games, 0..=1.
    pub win_rate: f64,
    /// Consecutive wins ending with the latest finished game.
    pub current_streak: u32,
    /// Longest run of consecutive wins.
    pub best_streak: u32,
}

/// The player's game that is waiting or in progress.
#[derive(Clone, Debug, Object, Serialize)]
pub struct ActiveGame {
    pub game_id: String,
    pub status: String,
    pub my_player: u8,
}

/// One leaderboard row.
#[derive(Clone, Debug, Object, Serialize)]
pub struct LeaderboardEntry {
    pub rank: u32,
    pub player_id: i64,
    pub username: String,
    pub elo_rating: i32,
    pub total_games: i64,
    pub wins: i64,
}

/// Cluster-wide counters.
#[derive(Clone, Debug, Object, Serialize)]
pub struct ClusterStats {
    pub total_players: u64,
    pub total_games: u64,
    pub finished_games: u64,
    pub active_games: u64,
    pub waiting_games: u64,
    pub online_players: u64,
    pub queue_size: u64,
}

/// Where a player stands in matchmaking.
#[derive(Clone, Debug, Object, Serialize)]
pub struct MatchStatus {
    /// `matched` | `queued` | `not_queued`.
    pub status: String,
    /// 1-based place in the queue by waiting time.
    pub position: Option<u64>,
    pub queue_size: u64,
    pub game_id: Option<String>,
    pub my_player: Option<u8>,
}
