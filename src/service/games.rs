//! Game lifecycle (create, join, cancel) and the read side: views, lists, histories,
//! statistics. Reads never take a game's lock; they see the last committed state.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use super::{
    events,
    state::GameState,
    transaction::{encode, GameTx},
    views::{
        ActiveGame, ClusterStats, GameSummary, GameView, HistoryEntry, LeaderboardEntry, LiveGame,
        MoveRecord, PlayerRef, PlayerStats, WaitingGame,
    },
    Arena, ServiceError, ServiceResult,
};
use crate::{
    audit::AuditEvent,
    cold::{entities::game, ColdError, NewGame, PlayerRecord},
    config::MOVE_TIME_LIMIT_RANGE,
    game::{EndReason, GameStatus, Seat},
};

/// How long a computed `/stats` answer is reused.
const STATS_FRESHNESS: std::time::Duration = std::time::Duration::from_secs(1);

/// How long online presence lasts without a heartbeat.
pub const ONLINE_WINDOW_MS: i64 = 60_000;

pub fn player_ref(player: &PlayerRecord) -> PlayerRef {
    PlayerRef {
        id: player.id,
        username: player.username.clone(),
        elo_rating: player.elo_rating,
    }
}

pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Arena {
    /// Creates a game with `player` in seat one, waiting for an opponent.
    pub async fn create_game(
        &self,
        player: &PlayerRecord,
        move_time_limit_secs: Option<u32>,
    ) -> ServiceResult<GameView> {
        let limit = move_time_limit_secs.unwrap_or(self.config.move_time_limit_secs);
        if !MOVE_TIME_LIMIT_RANGE.contains(&limit) {
            return Err(ServiceError::InvalidParameter(format!(
                "move_time_limit_secs must be between {} and {}",
                MOVE_TIME_LIMIT_RANGE.start(),
                MOVE_TIME_LIMIT_RANGE.end()
            )));
        }
        let id = Uuid::new_v4().to_string();
        let state = self
            .open_game(&id, player_ref(player), None, limit, None)
            .await?;
        Ok(state.view())
    }

    /// Stores a new game (both layers) and audits it. With `player2` it starts at once.
    pub(super) async fn open_game(
        &self,
        id: &str,
        player1: PlayerRef,
        player2: Option<PlayerRef>,
        move_time_limit_secs: u32,
        rematch_of: Option<&str>,
    ) -> ServiceResult<GameState> {
        let now = Utc::now();
        self.cold
            .insert_game(NewGame {
                id,
                player1_id: player1.id,
                player2_id: player2.as_ref().map(|p| p.id),
                move_time_limit_secs,
                rematch_of,
                now,
            })
            .await?;
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
            move_time_limit_secs,
            turn_deadline_ms: None,
            created_at: timestamp(now),
            rematch_game_id: None,
        };
        if active {
            let deadline = self.deadline_after(&state, now.timestamp_millis());
            state.turn_deadline_ms = Some(deadline);
        }
        self.hot
            .create(id, &encode(&state)?, self.config.game_ttl)
            .await?;
        if let Some(deadline) = state.running_clock() {
            self.hot
                .schedule(&crate::hot::Deadline::turn(id), deadline)
                .await?;
        }
        self.audit(
            AuditEvent::new("game_created")
                .game(id)
                .player(state.player1.id)
                .seq(state.version())
                .data(serde_json::json!({
                    "player2_id": state.player2.as_ref().map(|p| p.id),
                    "move_time_limit_secs": move_time_limit_secs,
                    "rematch_of": rematch_of,
                })),
        )
        .await;
        Ok(state)
    }

    /// Seats `player` as player two.
    pub async fn join_game(&self, player: &PlayerRecord, game_id: &str) -> ServiceResult<GameView> {
        let mut tx = self.begin(game_id).await?;
        if tx.state.player1.id == player.id {
            return Err(ServiceError::OwnGame);
        }
        match tx.state.status() {
            GameStatus::Waiting => {}
            GameStatus::Active => return Err(ServiceError::GameFull),
            _ => return Err(ServiceError::GameNotWaiting),
        }
        let now = Utc::now();
        tx.writing();
        match self.cold.start_game(game_id, player.id, now).await {
            Ok(true) => {}
            Ok(false) => {
                return Err(tx
                    .fail(ColdError::Stale(format!(
                        "game {game_id} is no longer waiting"
                    )))
                    .await)
            }
            Err(err) => return Err(tx.fail(err).await),
        }
        crate::failpoint::hit("join.after_start").await;
        let mut state = tx.state.clone();
        state.player2 = Some(player_ref(player));
        state.status = GameStatus::Active;
        state.turn_deadline_ms = Some(self.deadline_after(&state, now.timestamp_millis()));
        let view = state.view();
        let event = events::state_event(&view, None, Some("joined"));
        let joined = AuditEvent::new("game_joined")
            .game(game_id)
            .player(player.id)
            .seq(view.seq);
        tx.commit(&state, vec![event], vec![joined]).await?;
        Ok(view)
    }

    /// Withdraws a waiting game (its creator only).
    pub async fn cancel_game(
        &self,
        player: &PlayerRecord,
        game_id: &str,
    ) -> ServiceResult<GameView> {
        let tx = self.begin(game_id).await?;
        if tx.state.player1.id != player.id {
            return Err(ServiceError::NotCreator);
        }
        if tx.state.status() != GameStatus::Waiting {
            return Err(ServiceError::GameNotWaiting);
        }
        self.cancel_locked(tx, Some(player.id), "cancelled").await
    }

    /// Cancels a waiting game under its lock (by its creator, or by the sweeper when
    /// nobody joined in time).
    pub(super) async fn cancel_locked(
        &self,
        mut tx: GameTx<'_>,
        by: Option<i64>,
        reason: &str,
    ) -> ServiceResult<GameView> {
        let game_id = tx.game_id().to_string();
        tx.writing();
        match self.cold.cancel_game(&game_id, Utc::now()).await {
            Ok(true) => {}
            Ok(false) => {
                return Err(tx
                    .fail(ColdError::Stale(format!(
                        "game {game_id} is no longer waiting"
                    )))
                    .await)
            }
            Err(err) => return Err(tx.fail(err).await),
        }
        let mut state = tx.state.clone();
        state.end(GameStatus::Cancelled, EndReason::Cancelled, None);
        let view = state.view();
        let event = events::state_event(&view, None, Some(reason));
        let mut audit = AuditEvent::new("game_cancelled")
            .game(&game_id)
            .seq(view.seq)
            .data(serde_json::json!({ "reason": reason }));
        if let Some(player_id) = by {
            audit = audit.player(player_id);
        }
        tx.commit(&state, vec![event], vec![audit]).await?;
        Ok(view)
    }

    /// The full state of a game.
    pub async fn game_view(&self, game_id: &str) -> ServiceResult<GameView> {
        Ok(self.load_state(game_id).await?.view())
    }

    /// The stored moves of a game, in order.
    pub async fn game_moves(&self, game_id: &str) -> ServiceResult<Vec<MoveRecord>> {
        if self.cold.game(game_id).await?.is_none() {
            return Err(ServiceError::GameNotFound);
        }
        Ok(self
            .cold
            .moves(game_id)
            .await?
            .into_iter()
            .map(|m| MoveRecord {
                move_number: m.move_number as u32,
                player: m.player_seat as u8,
                player_id: m.player_id,
                column: m.column as u8,
                row: m.row as u8,
                created_at: timestamp(m.created_at),
            })
            .collect())
    }

    async fn player_refs(&self, games: &[game::Model]) -> ServiceResult<HashMap<i64, PlayerRef>> {
        let mut ids: Vec<i64> = games
            .iter()
            .flat_map(|g| [Some(g.player1_id), g.player2_id])
            .flatten()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(self
            .cold
            .players(&ids)
            .await?
            .iter()
            .map(|p| (p.id, player_ref(p)))
            .collect())
    }

    pub async fn waiting_games(&self) -> ServiceResult<Vec<WaitingGame>> {
        let games = self.cold.games_with_status(GameStatus::Waiting, 50).await?;
        let players = self.player_refs(&games).await?;
        Ok(games
            .into_iter()
            .filter_map(|g| {
                Some(WaitingGame {
                    player1: players.get(&g.player1_id)?.clone(),
                    game_id: g.id,
                    created_at: timestamp(g.created_at),
                    move_time_limit_secs: g.move_time_limit_secs as u32,
                })
            })
            .collect())
    }

    pub async fn recent_games(&self, limit: u64) -> ServiceResult<Vec<GameSummary>> {
        let games = self.cold.recent_games(limit).await?;
        let players = self.player_refs(&games).await?;
        Ok(games
            .into_iter()
            .filter_map(|g| {
                Some(GameSummary {
                    player1: players.get(&g.player1_id)?.clone(),
                    player2: g.player2_id.and_then(|id| players.get(&id).cloned()),
                    winner_id: g.winner_id,
                    draw: g.is_draw,
                    end_reason: g.end_reason,
                    move_count: g.move_count as u32,
                    finished_at: g.finished_at.map(timestamp),
                    status: g.status,
                    game_id: g.id,
                })
            })
            .collect())
    }

    /// Games in progress with their viewer counts (over the whole cluster).
    pub async fn live_games(&self) -> ServiceResult<Vec<LiveGame>> {
        let games = self.cold.games_with_status(GameStatus::Active, 50).await?;
        let players = self.player_refs(&games).await?;
        // Each game's viewers and move count (the game row counts moves only once the
        // game ends), fetched for all games at once rather than one game after another.
        let details = futures_util::future::join_all(games.iter().map(|g| async {
            let presence = self.presence(&g.id).await?;
            let move_count = self
                .load_state(&g.id)
                .await
                .map(|state| state.moves.len())
                .unwrap_or(0);
            ServiceResult::Ok((presence, move_count))
        }))
        .await;
        let mut live = Vec::with_capacity(games.len());
        for (g, details) in games.into_iter().zip(details) {
            let (presence, move_count) = details?;
            let Some(player1) = players.get(&g.player1_id).cloned() else {
                continue;
            };
            live.push(LiveGame {
                player1,
                player2: g.player2_id.and_then(|id| players.get(&id).cloned()),
                move_count: move_count as u32,
                viewers: presence.viewers,
                started_at: g.started_at.map(timestamp),
                game_id: g.id,
            });
        }
        Ok(live)
    }

    pub async fn player_stats(&self, player_id: i64) -> ServiceResult<PlayerStats> {
        let player = self
            .cold
            .player(player_id)
            .await?
            .ok_or(ServiceError::PlayerNotFound)?;
        let games = self.cold.player_games(player_id, 1000).await?;
        // Newest first; only decided games count for streaks.
        let results: Vec<bool> = games
            .iter()
            .filter(|g| g.status == GameStatus::Finished.as_str())
            .map(|g| g.winner_id == Some(player_id))
            .collect();
        let current_streak = results.iter().take_while(|won| **won).count() as u32;
        let best_streak = results
            .split(|won| !*won)
            .map(|run| run.len() as u32)
            .max()
            .unwrap_or(0);
        let (wins, losses, draws) = (
            player.wins as u32,
            player.losses as u32,
            player.draws as u32,
        );
        let total_games = wins + losses + draws;
        Ok(PlayerStats {
            player_id,
            username: player.username,
            elo_rating: player.elo_rating,
            total_games,
            wins,
            losses,
            draws,
            win_rate: if total_games == 0 {
                0.0
            } else {
                f64::from(wins) / f64::from(total_games)
            },
            current_streak,
            best_streak,
        })
    }

    pub async fn player_history(
        &self,
        player_id: i64,
        limit: u64,
    ) -> ServiceResult<Vec<HistoryEntry>> {
        if self.cold.player(player_id).await?.is_none() {
            return Err(ServiceError::PlayerNotFound);
        }
        let games = self.cold.player_games(player_id, limit).await?;
        let players = self.player_refs(&games).await?;
        Ok(games
            .into_iter()
            .map(|g| {
                let my_seat = if g.player1_id == player_id {
                    Seat::One
                } else {
                    Seat::Two
                };
                let opponent_id = match my_seat {
                    Seat::One => g.player2_id,
                    Seat::Two => Some(g.player1_id),
                };
                let result = match GameStatus::parse(&g.status) {
                    Some(GameStatus::Finished) if g.is_draw => "draw",
                    Some(GameStatus::Finished) if g.winner_id == Some(player_id) => "win",
                    Some(GameStatus::Finished) => "loss",
                    Some(GameStatus::Abandoned) => "abandoned",
                    Some(GameStatus::Cancelled) => "cancelled",
                    Some(GameStatus::Waiting) => "waiting",
                    _ => "in_progress",
                };
                HistoryEntry {
                    result: result.to_string(),
                    end_reason: g.end_reason,
                    my_player: my_seat.number(),
                    opponent_username: opponent_id
                        .and_then(|id| players.get(&id))
                        .map(|p| p.username.clone()),
                    opponent_id,
                    move_count: g.move_count as u32,
                    rating_change: match my_seat {
                        Seat::One => g.player1_rating_change,
                        Seat::Two => g.player2_rating_change,
                    },
                    created_at: timestamp(g.created_at),
                    finished_at: g.finished_at.map(timestamp),
                    status: g.status,
                    game_id: g.id,
                }
            })
            .collect())
    }

    /// The player's game that is waiting or in progress.
    pub async fn active_game(&self, player_id: i64) -> ServiceResult<ActiveGame> {
        let game = self
            .cold
            .open_game_of(player_id)
            .await?
            .ok_or(ServiceError::NoActiveGame)?;
        Ok(ActiveGame {
            my_player: if game.player1_id == player_id { 1 } else { 2 },
            game_id: game.id,
            status: game.status,
        })
    }

    pub async fn leaderboard(&self, limit: u64) -> ServiceResult<Vec<LeaderboardEntry>> {
        Ok(self
            .cold
            .leaderboard(limit)
            .await?
            .into_iter()
            .enumerate()
            .map(|(index, row)| LeaderboardEntry {
                rank: index as u32 + 1,
                player_id: row.player_id,
                username: row.username,
                elo_rating: row.elo_rating,
                total_games: row.total_games,
                wins: row.wins,
            })
            .collect())
    }

    /// Counters over the whole cluster (database and shared hot store, never one
    /// process). Every open lobby polls this, so each instance reuses an answer for
    /// [`STATS_FRESHNESS`].
    pub async fn cluster_stats(&self) -> ServiceResult<ClusterStats> {
        if let Some(fresh) = self.stats_cache.get(STATS_FRESHNESS) {
            return Ok(fresh);
        }
        let counts = self.cold.game_counts().await?;
        let stats = ClusterStats {
            total_players: self.cold.player_count().await?,
            total_games: counts.total,
            finished_games: counts.finished,
            active_games: counts.active,
            waiting_games: counts.waiting,
            online_players: self
                .hot
                .online_count(super::now_ms() - ONLINE_WINDOW_MS)
                .await?,
            queue_size: self.queue_size().await?,
        };
        self.stats_cache.put(stats.clone());
        Ok(stats)
    }

    /// Marks a player online (`POST /heartbeat`, and every socket message).
    pub async fn heartbeat(&self, player_id: i64) -> ServiceResult<u64> {
        let now = super::now_ms();
        self.hot.online_touch(player_id, now).await?;
        Ok(self.hot.online_count(now - ONLINE_WINDOW_MS).await?)
    }
}
