//! The WebSocket protocol, both directions, as types: [`ClientMessage`] (tagged by
//! `action`) is what a client may send, [`ServerMessage`] (tagged by `type`) what the
//! server sends. `api/ws.rs` decodes frames into the first; the service encodes each
//! broadcast from the second once, and the text is published to every socket as is.
//!
//! The wire format is the prototype's, kept exactly: a move may also come without an
//! `action` (`{"player":1,"column":3}`), `rematch` and `rematch_waiting` carry a `true`
//! flag of the same name, and a `state` is the game's view with `type` added.
//! `docs/protocol.schema.json` and the message reference in docs/API.md are generated
//! from these types; the test `protocol_docs_are_current` (`events/protocol_docs.rs`)
//! fails when they drift.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    domain::Emote,
    views::{GameView, MoveEvent},
};
use crate::cold::RatingOutcome;

/// A message from a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, strum::VariantNames)]
#[serde(tag = "action", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ClientMessage {
    /// Binds the socket to the token's player (and its seat, if the player has one).
    Identify { token: String },
    /// Drops a stone. Without `action` a message is a move too (the prototype's
    /// `{"player": 1, "column": 3}`).
    Move {
        /// The sender's seat (1 or 2), if it says: checked against the token, never trusted.
        #[serde(default)]
        player: Option<i64>,
        /// 0 to 6, left to right.
        column: i64,
    },
    /// Votes for a rematch of the finished game.
    Rematch,
    /// Gives the game up: the opponent wins.
    Resign,
    /// Ends the game without a result, before its second move.
    Abort,
    /// Offers a draw (accepts the opponent's pending offer, if there is one).
    DrawOffer,
    /// Accepts the opponent's draw offer: the game ends drawn.
    DrawAccept,
    /// Declines the opponent's draw offer.
    DrawDecline,
    /// Sends a quick emote to the other seat (at most one every 2 s).
    Emote { emote: Emote },
    /// Asks for the full `state` (after a gap in `seq`).
    Sync,
    /// Answered with `pong`.
    Ping,
}

/// Why a frame is not a [`ClientMessage`]; answered with an `error` message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("{0}")]
    InvalidMessage(String),
    #[error("Unknown action {0:?}")]
    UnknownAction(String),
}

impl ProtocolError {
    pub fn code(&self) -> &'static str {
        match self {
            ProtocolError::InvalidMessage(_) => "invalid_message",
            ProtocolError::UnknownAction(_) => "unknown_action",
        }
    }
}

impl ClientMessage {
    /// Parses a text frame. A missing (or null) `action` means a move; an action that
    /// is not one of ours is `unknown_action`; anything else malformed `invalid_message`.
    pub fn decode(text: &str) -> Result<ClientMessage, ProtocolError> {
        let mut object = match serde_json::from_str(text) {
            Ok(Value::Object(object)) => object,
            Ok(_) => {
                return Err(ProtocolError::InvalidMessage(
                    "Messages are JSON objects".into(),
                ))
            }
            Err(err) => {
                return Err(ProtocolError::InvalidMessage(format!(
                    "Messages are JSON objects: {err}"
                )))
            }
        };
        match object.get("action") {
            None | Some(Value::Null) => {
                object.insert("action".into(), Value::from("move"));
            }
            Some(Value::String(action))
                if !<Self as strum::VariantNames>::VARIANTS.contains(&action.as_str()) =>
            {
                return Err(ProtocolError::UnknownAction(action.clone()));
            }
            Some(_) => {}
        }
        serde_json::from_value(Value::Object(object))
            .map_err(|err| ProtocolError::InvalidMessage(format!("Malformed message: {err}")))
    }
}

/// A message from the server: a reply to this socket or a broadcast to the game's (or
/// the player's lobby) sockets.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The full state: on connect, `identify`, `sync`, a join, and whenever the socket
    /// may have missed events.
    State(StateMessage),
    /// The answer to `identify`.
    Identified(Identified),
    /// A move was played (also the body of `POST /games/{id}/move`).
    Move(MoveEvent),
    /// The game ended; follows the winning `move`, or comes alone (resign, timeout,
    /// abandonment).
    GameOver(GameOver),
    /// One seat voted for a rematch.
    RematchWaiting(RematchWaiting),
    /// Both seats voted: the new game.
    Rematch(Rematch),
    /// A seat offered a draw; it lapses with the next move.
    DrawOffered(DrawOfferMessage),
    /// The draw offer was declined (by `player`, the seat it was offered to).
    DrawDeclined(DrawOfferMessage),
    /// A player sent an emote.
    Emote(EmoteMessage),
    /// A seat connected or disconnected, or the viewer count changed (`player` null).
    PlayerStatus(PlayerStatus),
    /// Lobby socket: matchmaking paired this player.
    Matched(Matched),
    /// Lobby socket: events may have been lost; re-read the matchmaking status.
    Resync,
    /// The answer to `ping`.
    Pong,
    /// A refused message, on this socket only.
    Error(ErrorMessage),
}

impl ServerMessage {
    /// The JSON text sent on the wire.
    pub fn encode(&self) -> String {
        // Every map key of these types is a string and every value plain data, so
        // serializing cannot fail; the fallback is a well-formed error all the same.
        serde_json::to_string(self).unwrap_or_else(|err| {
            tracing::error!(error = %err, "a server message could not be encoded");
            r#"{"type":"error","error":"internal error","code":"internal"}"#.to_string()
        })
    }
}

/// A value per seat, keyed `"1"` and `"2"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(rename = "PerSeat_{T}")]
pub struct PerSeat<T> {
    #[serde(rename = "1")]
    pub one: T,
    #[serde(rename = "2")]
    pub two: T,
}

impl<T> From<(T, T)> for PerSeat<T> {
    fn from((one, two): (T, T)) -> Self {
        PerSeat { one, two }
    }
}

/// The game's view (`GameView`) plus who is connected and why it was sent.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct StateMessage {
    #[serde(flatten)]
    pub view: GameView,
    /// Whether each seat has an open socket (cluster-wide); absent in broadcasts.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "PerSeat<bool>")]
    pub online: Option<PerSeat<bool>>,
    /// Spectators watching (cluster-wide); absent in broadcasts.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u32")]
    pub viewers: Option<u32>,
    /// Why it was sent (`identified`, `sync`, `joined`, `resync`, …); absent on connect.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub reason: Option<String>,
}

/// Whether the identified socket plays a seat of this game.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SocketRole {
    Player,
    Spectator,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Identified {
    /// The caller's seat, null for a spectator (and on the lobby socket).
    pub player: Option<u8>,
    pub player_id: i64,
    pub role: SocketRole,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct GameOver {
    pub game_id: String,
    pub seq: u64,
    pub status: String,
    /// The end reason (see `GameView.end_reason`).
    pub reason: Option<String>,
    pub winner: Option<u8>,
    pub winner_id: Option<i64>,
    pub draw: bool,
    pub winning_cells: Vec<[u8; 2]>,
    /// Rating change of each seat; null when the game was not rated.
    pub rating_changes: Option<PerSeat<i32>>,
    /// Each seat's rating after the game; null when the game was not rated.
    pub ratings: Option<PerSeat<i32>>,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct RematchWaiting {
    /// Always true.
    pub rematch_waiting: bool,
    pub game_id: String,
    /// The seat that voted.
    pub player: u8,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Rematch {
    /// Always true.
    pub rematch: bool,
    /// The finished game.
    pub game_id: String,
    pub new_game_id: String,
    pub player1_id: i64,
    pub player2_id: Option<i64>,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct DrawOfferMessage {
    pub game_id: String,
    /// The seat that offered (`draw_offered`) or declined (`draw_declined`).
    pub player: u8,
    pub player_id: i64,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct EmoteMessage {
    pub game_id: String,
    /// The seat that sent it.
    pub player: u8,
    pub player_id: i64,
    pub emote: Emote,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    Connected,
    Disconnected,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct PlayerStatus {
    pub game_id: String,
    /// The seat that connected or disconnected; null for a change of the viewer count.
    pub player: Option<u8>,
    pub player_id: Option<i64>,
    pub status: ConnectionStatus,
    pub online: PerSeat<bool>,
    pub viewers: u32,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Matched {
    pub game_id: String,
    /// The seat this player has in the new game.
    pub my_player: u8,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct ErrorMessage {
    /// What went wrong, for humans.
    pub error: String,
    /// Stable machine-readable code (docs/API.md).
    pub code: String,
}

fn online(presence: &super::Presence) -> PerSeat<bool> {
    PerSeat {
        one: presence.seats[0],
        two: presence.seats[1],
    }
}

/// `{"type":"state", …GameView…}` with optional presence and the reason it was sent.
pub fn state_event(
    view: &GameView,
    presence: Option<&super::Presence>,
    reason: Option<&str>,
) -> String {
    ServerMessage::State(StateMessage {
        view: view.clone(),
        online: presence.map(online),
        viewers: presence.map(|presence| presence.viewers),
        reason: reason.map(str::to_string),
    })
    .encode()
}

/// The broadcast of a move.
pub fn move_event(event: &MoveEvent) -> String {
    ServerMessage::Move(event.clone()).encode()
}

/// `{"type":"game_over", …}` with the rating changes when the game was rated.
pub fn game_over_event(view: &GameView, ratings: Option<RatingOutcome>) -> String {
    ServerMessage::GameOver(GameOver {
        game_id: view.game_id.clone(),
        seq: view.seq,
        status: view.status.clone(),
        reason: view.end_reason.clone(),
        winner: view.winner,
        winner_id: view.winner_id,
        draw: view.draw,
        winning_cells: view.winning_cells.clone(),
        rating_changes: ratings.map(|outcome| outcome.changes.into()),
        ratings: ratings.map(|outcome| outcome.ratings.into()),
    })
    .encode()
}

pub fn rematch_waiting_event(game_id: &str, seat: u8) -> String {
    ServerMessage::RematchWaiting(RematchWaiting {
        rematch_waiting: true,
        game_id: game_id.to_string(),
        player: seat,
    })
    .encode()
}

pub fn rematch_event(game_id: &str, new_game: &GameView) -> String {
    ServerMessage::Rematch(Rematch {
        rematch: true,
        game_id: game_id.to_string(),
        new_game_id: new_game.game_id.clone(),
        player1_id: new_game.player1.id,
        player2_id: new_game.player2.as_ref().map(|p| p.id),
    })
    .encode()
}

pub fn draw_offered_event(game_id: &str, seat: u8, player_id: i64) -> String {
    ServerMessage::DrawOffered(DrawOfferMessage {
        game_id: game_id.to_string(),
        player: seat,
        player_id,
    })
    .encode()
}

pub fn draw_declined_event(game_id: &str, seat: u8, player_id: i64) -> String {
    ServerMessage::DrawDeclined(DrawOfferMessage {
        game_id: game_id.to_string(),
        player: seat,
        player_id,
    })
    .encode()
}

pub fn emote_event(game_id: &str, seat: u8, player_id: i64, emote: Emote) -> String {
    ServerMessage::Emote(EmoteMessage {
        game_id: game_id.to_string(),
        player: seat,
        player_id,
        emote,
    })
    .encode()
}

pub fn player_status_event(
    game_id: &str,
    seat: Option<u8>,
    player_id: Option<i64>,
    connected: bool,
    presence: &super::Presence,
) -> String {
    ServerMessage::PlayerStatus(PlayerStatus {
        game_id: game_id.to_string(),
        player: seat,
        player_id,
        status: if connected {
            ConnectionStatus::Connected
        } else {
            ConnectionStatus::Disconnected
        },
        online: online(presence),
        viewers: presence.viewers,
    })
    .encode()
}

pub fn matched_event(game_id: &str, seat: u8) -> String {
    ServerMessage::Matched(Matched {
        game_id: game_id.to_string(),
        my_player: seat,
    })
    .encode()
}

pub fn identified_event(seat: Option<u8>, player_id: i64) -> String {
    ServerMessage::Identified(Identified {
        player: seat,
        player_id,
        role: if seat.is_some() {
            SocketRole::Player
        } else {
            SocketRole::Spectator
        },
    })
    .encode()
}

pub fn error_event(message: &str, code: &str) -> String {
    ServerMessage::Error(ErrorMessage {
        error: message.to_string(),
        code: code.to_string(),
    })
    .encode()
}

/// `{"type":"resync"}`: events may have been lost; re-read what matters.
pub fn resync_event() -> String {
    ServerMessage::Resync.encode()
}

pub fn pong_event() -> String {
    ServerMessage::Pong.encode()
}

#[cfg(test)]
mod protocol_docs;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::views::PlayerRef;

    fn view() -> GameView {
        GameView {
            game_id: "g1".into(),
            status: "active".into(),
            board: vec![vec![0; 7]; 6],
            next_player: 1,
            seq: 3,
            move_count: 2,
            player1: PlayerRef {
                id: 7,
                username: "alice".into(),
                elo_rating: 1200,
                bot: None,
            },
            player2: None,
            winner: None,
            winner_id: None,
            draw: false,
            winning_cells: vec![],
            last_move: None,
            end_reason: None,
            move_time_limit_secs: 60,
            rated: true,
            colour: "first".into(),
            draw_offer: None,
            turn_deadline_ms: None,
            rematch_game_id: None,
            created_at: "2026-11-25T10:00:00Z".into(),
        }
    }

    fn json(text: &str) -> Value {
        serde_json::from_str(text).expect("valid JSON")
    }

    #[test]
    fn both_move_shapes_decode() {
        assert_eq!(
            ClientMessage::decode(r#"{"player":1,"column":3}"#),
            Ok(ClientMessage::Move {
                player: Some(1),
                column: 3
            })
        );
        assert_eq!(
            ClientMessage::decode(r#"{"action":"move","column":6}"#),
            Ok(ClientMessage::Move {
                player: None,
                column: 6
            })
        );
        assert_eq!(
            ClientMessage::decode(r#"{"action":null,"player":null,"column":0}"#),
            Ok(ClientMessage::Move {
                player: None,
                column: 0
            })
        );
    }

    #[test]
    fn every_action_decodes() {
        assert_eq!(
            ClientMessage::decode(r#"{"action":"identify","token":"t"}"#),
            Ok(ClientMessage::Identify { token: "t".into() })
        );
        for (text, message) in [
            (r#"{"action":"rematch"}"#, ClientMessage::Rematch),
            (r#"{"action":"resign"}"#, ClientMessage::Resign),
            (r#"{"action":"sync"}"#, ClientMessage::Sync),
            (r#"{"action":"ping","extra":1}"#, ClientMessage::Ping),
            (r#"{"action":"abort"}"#, ClientMessage::Abort),
            (r#"{"action":"draw_offer"}"#, ClientMessage::DrawOffer),
            (r#"{"action":"draw_accept"}"#, ClientMessage::DrawAccept),
            (r#"{"action":"draw_decline"}"#, ClientMessage::DrawDecline),
            (
                r#"{"action":"emote","emote":"well_played"}"#,
                ClientMessage::Emote {
                    emote: Emote::WellPlayed,
                },
            ),
        ] {
            assert_eq!(ClientMessage::decode(text), Ok(message), "{text}");
        }
    }

    #[test]
    fn bad_messages_get_codes() {
        let code = |text: &str| ClientMessage::decode(text).map_err(|err| err.code());
        assert_eq!(code("not json"), Err("invalid_message"));
        assert_eq!(code("[]"), Err("invalid_message"));
        assert_eq!(code(r#"{"column":"three"}"#), Err("invalid_message"));
        assert_eq!(code(r#"{"column":3.5}"#), Err("invalid_message"));
        assert_eq!(code(r#"{"action":"move"}"#), Err("invalid_message"));
        assert_eq!(code(r#"{"action":"identify"}"#), Err("invalid_message"));
        assert_eq!(code(r#"{"action":5}"#), Err("invalid_message"));
        assert_eq!(code(r#"{"action":"dance"}"#), Err("unknown_action"));
        // Emotes are a fixed set: no free text.
        assert_eq!(
            code(r#"{"action":"emote","emote":"hello there"}"#),
            Err("invalid_message")
        );
        assert_eq!(code(r#"{"action":"emote"}"#), Err("invalid_message"));
    }

    #[test]
    fn server_messages_keep_the_prototype_shapes() {
        assert_eq!(json(&pong_event()), json(r#"{"type":"pong"}"#));
        assert_eq!(json(&resync_event()), json(r#"{"type":"resync"}"#));
        assert_eq!(
            json(&error_event("It is not your turn", "not_your_turn")),
            json(r#"{"type":"error","error":"It is not your turn","code":"not_your_turn"}"#)
        );
        assert_eq!(
            json(&identified_event(Some(1), 7)),
            json(r#"{"type":"identified","player":1,"player_id":7,"role":"player"}"#)
        );
        assert_eq!(
            json(&identified_event(None, 7)),
            json(r#"{"type":"identified","player":null,"player_id":7,"role":"spectator"}"#)
        );
        assert_eq!(
            json(&rematch_waiting_event("g1", 2)),
            json(r#"{"type":"rematch_waiting","rematch_waiting":true,"game_id":"g1","player":2}"#)
        );
        assert_eq!(
            json(&draw_offered_event("g1", 1, 7)),
            json(r#"{"type":"draw_offered","game_id":"g1","player":1,"player_id":7}"#)
        );
        assert_eq!(
            json(&draw_declined_event("g1", 2, 9)),
            json(r#"{"type":"draw_declined","game_id":"g1","player":2,"player_id":9}"#)
        );
        assert_eq!(
            json(&emote_event("g1", 2, 9, Emote::ThumbsUp)),
            json(r#"{"type":"emote","game_id":"g1","player":2,"player_id":9,"emote":"thumbs_up"}"#)
        );
        assert_eq!(
            json(&matched_event("g1", 2)),
            json(r#"{"type":"matched","game_id":"g1","my_player":2}"#)
        );
        let presence = super::super::Presence {
            seats: [true, false],
            viewers: 3,
        };
        assert_eq!(
            json(&player_status_event(
                "g1",
                Some(2),
                Some(9),
                false,
                &presence
            )),
            json(
                r#"{"type":"player_status","game_id":"g1","player":2,"player_id":9,
                    "status":"disconnected","online":{"1":true,"2":false},"viewers":3}"#
            )
        );
    }

    #[test]
    fn a_state_is_the_view_with_its_type_presence_and_reason() {
        let mut expected = serde_json::to_value(view()).expect("a view serializes");
        expected["type"] = "state".into();
        assert_eq!(json(&state_event(&view(), None, None)), expected);
        let presence = super::super::Presence {
            seats: [true, true],
            viewers: 1,
        };
        expected["online"] = json(r#"{"1":true,"2":true}"#);
        expected["viewers"] = 1.into();
        expected["reason"] = "sync".into();
        assert_eq!(
            json(&state_event(&view(), Some(&presence), Some("sync"))),
            expected
        );
    }

    #[test]
    fn game_over_carries_ratings_only_when_rated() {
        let unrated = json(&game_over_event(&view(), None));
        assert_eq!(unrated["type"], "game_over");
        assert!(unrated["rating_changes"].is_null() && unrated["ratings"].is_null());
        let rated = json(&game_over_event(
            &view(),
            Some(RatingOutcome {
                changes: (16, -16),
                ratings: (1216, 1184),
            }),
        ));
        assert_eq!(rated["rating_changes"], json(r#"{"1":16,"2":-16}"#));
        assert_eq!(rated["ratings"], json(r#"{"1":1216,"2":1184}"#));
        assert_eq!(rated["seq"], 3);
    }

    #[test]
    fn rematch_names_the_new_game() {
        assert_eq!(
            json(&rematch_event("old", &view())),
            json(
                r#"{"type":"rematch","rematch":true,"game_id":"old","new_game_id":"g1",
                    "player1_id":7,"player2_id":null}"#
            )
        );
    }
}
