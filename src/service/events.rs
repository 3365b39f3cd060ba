//! The WebSocket messages other than `move` (which is [`super::views::MoveEvent`]).
//! Built as JSON text once, then published to every socket as is.

use serde_json::{json, Value};

use super::views::GameView;
use crate::cold::RatingOutcome;

fn text(value: Value) -> String {
    value.to_string()
}

/// `{"type":"state", …GameView…}` with optional presence and the reason it was sent.
pub fn state_event(
    view: &GameView,
    presence: Option<&super::Presence>,
    reason: Option<&str>,
) -> String {
    let mut value = serde_json::to_value(view).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut value {
        map.insert("type".into(), json!("state"));
        if let Some(presence) = presence {
            map.insert("online".into(), presence.online_json());
            map.insert("viewers".into(), json!(presence.viewers));
        }
        if let Some(reason) = reason {
            map.insert("reason".into(), json!(reason));
        }
    }
    text(value)
}

/// `{"type":"game_over", …}` with the rating changes when the game was rated.
pub fn game_over_event(view: &GameView, ratings: Option<RatingOutcome>) -> String {
    let (changes, new_ratings) = match ratings {
        Some(outcome) => (
            json!({"1": outcome.changes.0, "2": outcome.changes.1}),
            json!({"1": outcome.ratings.0, "2": outcome.ratings.1}),
        ),
        None => (Value::Null, Value::Null),
    };
    text(json!({
        "type": "game_over",
        "game_id": view.game_id,
        "seq": view.seq,
        "status": view.status,
        "reason": view.end_reason,
        "winner": view.winner,
        "winner_id": view.winner_id,
        "draw": view.draw,
        "winning_cells": view.winning_cells,
        "rating_changes": changes,
        "ratings": new_ratings,
    }))
}

pub fn rematch_waiting_event(game_id: &str, seat: u8) -> String {
    text(
        json!({"type": "rematch_waiting", "rematch_waiting": true, "game_id": game_id, "player": seat}),
    )
}

pub fn rematch_event(game_id: &str, new_game: &GameView) -> String {
    text(json!({
        "type": "rematch",
        "rematch": true,
        "game_id": game_id,
        "new_game_id": new_game.game_id,
        "player1_id": new_game.player1.id,
        "player2_id": new_game.player2.as_ref().map(|p| p.id),
    }))
}

pub fn player_status_event(
    game_id: &str,
    seat: Option<u8>,
    player_id: Option<i64>,
    connected: bool,
    presence: &super::Presence,
) -> String {
    text(json!({
        "type": "player_status",
        "game_id": game_id,
        "player": seat,
        "player_id": player_id,
        "status": if connected { "connected" } else { "disconnected" },
        "online": presence.online_json(),
        "viewers": presence.viewers,
    }))
}

pub fn identified_event(seat: Option<u8>, player_id: i64) -> String {
    text(json!({
        "type": "identified",
        "player": seat,
        "player_id": player_id,
        "role": if seat.is_some() { "player" } else { "spectator" },
    }))
}

pub fn error_event(message: &str, code: &str) -> String {
    text(json!({"type": "error", "error": message, "code": code}))
}

/// `{"type":"resync"}`: events may have been lost; re-read what matters.
pub fn resync_event() -> String {
    text(json!({"type": "resync"}))
}

pub fn pong_event() -> String {
    text(json!({"type": "pong"}))
}
