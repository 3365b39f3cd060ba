//! A game's hot state: the document kept in the hot store under the game's key. The
//! board is not stored, only the list of columns played; the rules engine replays it
//! on load (42 moves at most, a few microseconds with bitboards), so the board can
//! never disagree with the move list. The version is derived from the content
//! ([`sequence_number`]), so a state rebuilt from the database has the version clients saw.
//!
//! A pending draw offer lives here only (not in the database): it changes no version,
//! lapses with the next move, and lapses too if the state is ever rebuilt.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    domain::{Colour, GameOptions},
    views::{timestamp, GameView, LastMove, MoveEvent, PlayerRef},
};
use crate::game::{
    sequence_number, Board, BotLevel, EndReason, GameStatus, Outcome, Placement, Seat,
};

/// The clock of a computer opponent's turn, whatever the game's limit: far longer than
/// its pause plus its search, so a turn still due after it was lost with the instance
/// that owed it, and the sweeper has another instance play it.
pub const BOT_TURN_SECS: i64 = 5;

/// The serialized hot state of one game.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GameState {
    pub id: String,
    pub status: GameStatus,
    pub player1: PlayerRef,
    pub player2: Option<PlayerRef>,
    /// Columns played, in order.
    pub moves: Vec<u8>,
    pub end_reason: Option<EndReason>,
    /// The winning seat (1 or 2) once decided.
    pub winner: Option<u8>,
    pub move_time_limit_secs: u32,
    /// False for a casual game (states stored before the option existed are rated).
    #[serde(default = "rated_by_default")]
    pub rated: bool,
    /// The creator's colour choice; while the game waits the creator is player one.
    #[serde(default)]
    pub colour: Colour,
    /// The seat (1 or 2) whose draw offer is pending.
    #[serde(default)]
    pub draw_offer: Option<u8>,
    pub turn_deadline_ms: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub rematch_game_id: Option<String>,
}

fn rated_by_default() -> bool {
    true
}

impl GameState {
    /// A game just created at `now`: waiting for player two, or (with `player2`)
    /// active, its first turn's clock running.
    pub fn new(
        id: &super::domain::GameId,
        player1: PlayerRef,
        player2: Option<PlayerRef>,
        options: GameOptions,
        now: DateTime<Utc>,
    ) -> GameState {
        let active = player2.is_some();
        let mut state = GameState {
            id: id.to_string(),
            status: if active {
                GameStatus::Active
            } else {
                GameStatus::Waiting
            },
            player1,
            player2,
            moves: Vec::new(),
            end_reason: None,
            winner: None,
            move_time_limit_secs: options.move_time_limit_secs,
            rated: options.rated,
            colour: options.colour,
            draw_offer: None,
            turn_deadline_ms: None,
            created_at: now,
            rematch_game_id: None,
        };
        if active {
            state.turn_deadline_ms = Some(state.deadline_after(now.timestamp_millis()));
        }
        state
    }

    pub fn status(&self) -> GameStatus {
        self.status
    }

    /// The deadline the move clock is running towards: the turn deadline while the game
    /// is active, none otherwise. This is the game's entry in the turn-deadline index.
    pub fn running_clock(&self) -> Option<i64> {
        match self.status() {
            GameStatus::Active => self.turn_deadline_ms,
            _ => None,
        }
    }

    /// When the player to move runs out of time if the turn begins at `began_ms` (a bot
    /// has [`BOT_TURN_SECS`]).
    pub fn deadline_after(&self, began_ms: i64) -> i64 {
        let limit_secs = match self.bot_to_move() {
            Some(_) => BOT_TURN_SECS,
            None => i64::from(self.move_time_limit_secs),
        };
        began_ms + limit_secs * 1000
    }

    /// The level of the computer opponent whose turn it is, if the seat to move is one
    /// (whatever the status: callers check that the game is active).
    pub fn bot_to_move(&self) -> Option<BotLevel> {
        self.player(self.board().next_seat())?
            .bot
            .map(BotLevel::from)
    }

    /// True if a computer opponent plays in this game.
    pub fn has_bot(&self) -> bool {
        [Some(&self.player1), self.player2.as_ref()]
            .into_iter()
            .flatten()
            .any(|player| player.bot.is_some())
    }

    pub fn end_reason(&self) -> Option<EndReason> {
        self.end_reason
    }

    /// The options the game was created with (a rematch keeps them).
    pub fn options(&self) -> GameOptions {
        GameOptions {
            move_time_limit_secs: self.move_time_limit_secs,
            rated: self.rated,
            colour: self.colour,
        }
    }

    fn is_draw(&self) -> bool {
        self.end_reason().is_some_and(EndReason::is_draw)
    }

    /// The state version (see [`sequence_number`]).
    pub fn version(&self) -> u64 {
        sequence_number(self.status(), self.moves.len(), self.end_reason())
    }

    /// The seat a player holds in this game.
    pub fn seat_of(&self, player_id: i64) -> Option<Seat> {
        if self.player1.id == player_id {
            Some(Seat::One)
        } else if self.player2.as_ref().is_some_and(|p| p.id == player_id) {
            Some(Seat::Two)
        } else {
            None
        }
    }

    pub fn player(&self, seat: Seat) -> Option<&PlayerRef> {
        match seat {
            Seat::One => Some(&self.player1),
            Seat::Two => self.player2.as_ref(),
        }
    }

    /// The board after the stored moves. Stored moves were validated when played, so a
    /// replay error means the document was corrupted; the valid prefix is kept.
    pub fn board(&self) -> Board {
        Board::from_moves(&self.moves).unwrap_or_else(|(index, err)| {
            tracing::error!(game_id = %self.id, index, error = %err, "stored moves do not replay");
            Board::from_moves(&self.moves[..index]).unwrap_or_default()
        })
    }

    /// Records a game's end.
    pub fn end(&mut self, status: GameStatus, reason: EndReason, winner: Option<Seat>) {
        self.status = status;
        self.end_reason = Some(reason);
        self.winner = winner.map(Seat::number);
        self.turn_deadline_ms = None;
        self.draw_offer = None;
    }

    pub fn winner_id(&self) -> Option<i64> {
        self.winner
            .and_then(Seat::from_number)
            .and_then(|seat| self.player(seat))
            .map(|p| p.id)
    }

    pub fn view(&self) -> GameView {
        let board = self.board();
        let winning_cells = winning_cells(&board);
        let last_move = board.moves().last().map(|&column| {
            let seat = if board.move_count() % 2 == 1 { 1 } else { 2 };
            let row = (0..6u8)
                .find(|&row| board.cell(row, column).is_some())
                .unwrap_or(5);
            LastMove {
                player: seat,
                column,
                row,
            }
        });
        GameView {
            game_id: self.id.clone(),
            status: self.status.as_str().to_string(),
            board: grid(&board),
            next_player: board.next_seat().number(),
            seq: self.version(),
            move_count: board.move_count() as u32,
            player1: self.player1.clone(),
            player2: self.player2.clone(),
            winner: self.winner,
            winner_id: self.winner_id(),
            draw: self.is_draw(),
            winning_cells,
            last_move,
            end_reason: self.end_reason.map(|reason| reason.as_str().to_string()),
            move_time_limit_secs: self.move_time_limit_secs,
            rated: self.rated,
            colour: self.colour.as_str().to_string(),
            draw_offer: self.draw_offer,
            turn_deadline_ms: self.turn_deadline_ms,
            rematch_game_id: self.rematch_game_id.clone(),
            created_at: timestamp(self.created_at),
        }
    }

    /// The broadcast of a move just applied to this state.
    pub fn move_event(&self, placement: &Placement, player_id: i64, board: &Board) -> MoveEvent {
        MoveEvent {
            kind: "move".into(),
            game_id: self.id.clone(),
            seq: self.version(),
            player: placement.seat.number(),
            player_id,
            column: placement.column,
            row: placement.row,
            board: grid(board),
            next_player: board.next_seat().number(),
            winner: self.winner,
            winner_id: self.winner_id(),
            draw: self.is_draw(),
            winning_cells: winning_cells(board),
            status: self.status.as_str().to_string(),
            move_count: board.move_count() as u32,
            turn_deadline_ms: self.turn_deadline_ms,
        }
    }
}

pub fn grid(board: &Board) -> Vec<Vec<u8>> {
    board.grid().iter().map(|row| row.to_vec()).collect()
}

pub fn winning_cells(board: &Board) -> Vec<[u8; 2]> {
    match board.outcome() {
        Outcome::Won { cells, .. } => cells.iter().map(|c| [c.row, c.column]).collect(),
        _ => Vec::new(),
    }
}
