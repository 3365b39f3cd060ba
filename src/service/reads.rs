//! The read side: a game's view and moves, lists of games, a player's record and
//! history, the leaderboard, cluster-wide counters. Reads never take a game's lock; they
//! see the last committed state (reconciled first if a change was interrupted).

use std::{collections::HashMap, sync::Arc, time::Duration};

use super::{
    connections::Connections,
    domain::GameId,
    matchmaking::Matchmaking,
    transaction::GameStore,
    views::{
        timestamp, ActiveGame, ClusterStats, GameSummary, GameView, HistoryEntry, LeaderboardEntry,
        LiveGame, MoveRecord, PlayerRef, PlayerStats, WaitingGame,
    },
    ServiceError, ServiceResult,
};
use crate::{
    cold::{entities::game, Cold},
    game::{EndReason, GameStatus, Seat},
};

/// How long a computed `/stats` answer is reused.
const STATS_FRESHNESS: Duration = Duration::from_secs(1);

pub struct Views {
    store: Arc<GameStore>,
    cold: Cold,
    /// Viewer counts and online players.
    connections: Arc<Connections>,
    /// The queue's size.
    matchmaking: Arc<Matchmaking>,
    /// The last `/stats` answer, for [`STATS_FRESHNESS`].
    stats_cache: moka::future::Cache<(), ClusterStats>,
}

impl Views {
    pub fn new(
        store: Arc<GameStore>,
        cold: Cold,
        connections: Arc<Connections>,
        matchmaking: Arc<Matchmaking>,
    ) -> Views {
        Views {
            store,
            cold,
            connections,
            matchmaking,
            stats_cache: moka::future::Cache::builder()
                .max_capacity(1)
                .time_to_live(STATS_FRESHNESS)
                .build(),
        }
    }

    /// The full state of a game.
    pub async fn game_view(&self, game_id: &GameId) -> ServiceResult<GameView> {
        Ok(self.store.load(game_id).await?.view())
    }

    /// The stored moves of a game, in order.
    pub async fn game_moves(&self, game_id: &GameId) -> ServiceResult<Vec<MoveRecord>> {
        if self.cold.game(game_id.as_str()).await?.is_none() {
            return Err(ServiceError::GameNotFound);
        }
        Ok(self
            .cold
            .moves(game_id.as_str())
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
            .map(|p| (p.id, PlayerRef::from(p)))
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
                    rated: g.rated,
                    colour: g.colour,
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
                    end_reason: g.end_reason.map(|reason| reason.to_string()),
                    move_count: g.move_count as u32,
                    finished_at: g.finished_at.map(timestamp),
                    status: g.status.to_string(),
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
        let details =
            futures_util::future::join_all(games.iter().map(|g| self.live_details(g))).await;
        let mut live = Vec::with_capacity(games.len());
        for (g, details) in games.into_iter().zip(details) {
            let (viewers, move_count) = details?;
            let Some(player1) = players.get(&g.player1_id).cloned() else {
                continue;
            };
            live.push(LiveGame {
                player1,
                player2: g.player2_id.and_then(|id| players.get(&id).cloned()),
                move_count: move_count as u32,
                viewers,
                started_at: g.started_at.map(timestamp),
                rated: g.rated,
                game_id: g.id,
            });
        }
        Ok(live)
    }

    /// A live game's viewer count and number of moves played.
    async fn live_details(&self, game: &game::Model) -> ServiceResult<(u32, usize)> {
        let game_id = GameId::parse(&game.id)?;
        let presence = self.connections.presence(&game_id).await?;
        let move_count = self
            .store
            .load(&game_id)
            .await
            .map(|state| state.moves.len())
            .unwrap_or(0);
        Ok((presence.viewers, move_count))
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
            .filter(|g| g.status == GameStatus::Finished)
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
            .map(|g| history_entry(g, player_id, &players))
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
            my_player: game.seat_of(player_id).unwrap_or(Seat::Two).number(),
            game_id: game.id,
            status: game.status.to_string(),
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
        if let Some(fresh) = self.stats_cache.get(&()).await {
            return Ok(fresh);
        }
        let counts = self.cold.game_counts().await?;
        let stats = ClusterStats {
            total_players: self.cold.player_count().await?,
            total_games: counts.total,
            finished_games: counts.finished,
            active_games: counts.active,
            waiting_games: counts.waiting,
            online_players: self.connections.online_count().await?,
            queue_size: self.matchmaking.queue_size().await?,
        };
        self.stats_cache.insert((), stats.clone()).await;
        Ok(stats)
    }
}

/// One game of a player's history, from that player's side.
fn history_entry(
    g: game::Model,
    player_id: i64,
    players: &HashMap<i64, PlayerRef>,
) -> HistoryEntry {
    let my_seat = g.seat_of(player_id).unwrap_or(Seat::Two);
    let opponent_id = match my_seat {
        Seat::One => g.player2_id,
        Seat::Two => Some(g.player1_id),
    };
    let result = match g.status {
        GameStatus::Finished if g.is_draw => "draw",
        GameStatus::Finished if g.winner_id == Some(player_id) => "win",
        GameStatus::Finished => "loss",
        GameStatus::Abandoned if g.end_reason == Some(EndReason::Aborted) => "aborted",
        GameStatus::Abandoned => "abandoned",
        GameStatus::Cancelled => "cancelled",
        GameStatus::Waiting => "waiting",
        GameStatus::Active => "in_progress",
    };
    HistoryEntry {
        result: result.to_string(),
        end_reason: g.end_reason.map(|reason| reason.to_string()),
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
        status: g.status.to_string(),
        game_id: g.id,
    }
}
