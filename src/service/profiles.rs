//! Player profiles: what the profile page shows about a player — the record, the rating
//! over time, and the record against another player. Read-only, from the database
//! alone (ratings change only in the settlement transaction, so a profile is never
//! ahead of or behind a finished game). Players are addressed by username, as in the
//! app's `/player/<name>` addresses.

use chrono::{DateTime, SecondsFormat, Utc};
use poem_openapi::Object;
use serde::Serialize;

use super::{ServiceError, ServiceResult};
use crate::cold::{Cold, Player};

/// How many rating changes a profile carries (the newest ones).
pub const RATING_HISTORY_POINTS: u64 = 200;

/// One rated game in a player's rating history.
#[derive(Clone, Debug, Object, Serialize)]
pub struct RatingPoint {
    pub game_id: String,
    /// The rating after this game.
    pub rating: i32,
    /// `rating` minus the rating before the game.
    pub change: i32,
    /// When the game ended.
    pub at: String,
}

/// A player's public profile.
#[derive(Clone, Debug, Object, Serialize)]
pub struct PlayerProfile {
    pub player_id: i64,
    pub username: String,
    pub elo_rating: i32,
    /// Highest rating ever held (the starting rating included).
    pub peak_rating: i32,
    /// Rating before the first game of `rating_history`.
    pub starting_rating: i32,
    pub total_games: u32,
    pub wins: u32,
    pub losses: u32,
    pub draws: u32,
    pub guest: bool,
    pub member_since: String,
    /// The latest rated games (at most 200), oldest first.
    pub rating_history: Vec<RatingPoint>,
}

/// A player named in a head-to-head record.
#[derive(Clone, Debug, Object, Serialize)]
pub struct ProfileRef {
    pub id: i64,
    pub username: String,
}

/// Finished games between two players, from `player`'s side.
#[derive(Clone, Debug, Object, Serialize)]
pub struct HeadToHeadRecord {
    pub player: ProfileRef,
    pub opponent: ProfileRef,
    pub total_games: u64,
    pub wins: u64,
    pub losses: u64,
    pub draws: u64,
}

/// The profile use-cases; holds only the database handle.
#[derive(Clone)]
pub struct Profiles {
    cold: Cold,
}

impl Profiles {
    pub fn new(cold: Cold) -> Profiles {
        Profiles { cold }
    }

    async fn player_named(&self, username: &str) -> ServiceResult<Player> {
        self.cold
            .player_by_username(username)
            .await?
            .ok_or(ServiceError::PlayerNotFound)
    }

    /// The profile of the player called `username` (any letter case).
    pub async fn profile(&self, username: &str) -> ServiceResult<PlayerProfile> {
        let player = self.player_named(username).await?;
        let history = self
            .cold
            .rating_history(player.id, RATING_HISTORY_POINTS)
            .await?;
        let starting_rating = history
            .first()
            .map_or(player.elo_rating, |first| first.rating_before);
        let peak_rating = history
            .iter()
            .map(|row| row.rating_after)
            .chain([starting_rating, player.elo_rating])
            .max()
            .unwrap_or(player.elo_rating);
        let (wins, losses, draws) = (
            player.wins as u32,
            player.losses as u32,
            player.draws as u32,
        );
        Ok(PlayerProfile {
            player_id: player.id,
            elo_rating: player.elo_rating,
            peak_rating,
            starting_rating,
            total_games: wins + losses + draws,
            wins,
            losses,
            draws,
            guest: player.guest,
            member_since: timestamp(player.created_at),
            rating_history: history
                .into_iter()
                .map(|row| RatingPoint {
                    change: row.rating_after - row.rating_before,
                    rating: row.rating_after,
                    at: timestamp(row.created_at),
                    game_id: row.game_id,
                })
                .collect(),
            username: player.username,
        })
    }

    /// The record of `username` against `opponent` (finished games only).
    pub async fn head_to_head(
        &self,
        username: &str,
        opponent: &str,
    ) -> ServiceResult<HeadToHeadRecord> {
        let player = self.player_named(username).await?;
        let opponent = self.player_named(opponent).await?;
        let record = self.cold.head_to_head(player.id, opponent.id).await?;
        Ok(HeadToHeadRecord {
            player: ProfileRef {
                id: player.id,
                username: player.username,
            },
            opponent: ProfileRef {
                id: opponent.id,
                username: opponent.username,
            },
            total_games: record.wins + record.losses + record.draws,
            wins: record.wins,
            losses: record.losses,
            draws: record.draws,
        })
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}
