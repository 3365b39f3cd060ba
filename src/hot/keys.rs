//! Every Redis key and channel name of the server, in one place. Keys of one game share
//! the hash tag `{g:<id>}`, so a game's state, lock, presence, rematch votes and channel
//! live on one Redis Cluster slot and one script may touch them together.

/// Builds names under a configurable prefix (`REDIS_PREFIX`, default `c4`).
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Keys {
        Keys {
            prefix: prefix.to_string(),
        }
    }

    /// Hash `{v: version, s: state JSON}` of one game, with a sliding TTL.
    pub fn game_state(&self, game_id: &str) -> String {
        format!("{}:{{g:{game_id}}}:state", self.prefix)
    }

    /// The game's move lock: `SET NX PX` with a random token; only its holder deletes it.
    pub fn game_lock(&self, game_id: &str) -> String {
        format!("{}:{{g:{game_id}}}:lock", self.prefix)
    }

    /// The write intent of the game's lock holder (its token), removed only by its
    /// commit or unlock: one left without a lock marks an interrupted change.
    pub fn game_intent(&self, game_id: &str) -> String {
        format!("{}:{{g:{game_id}}}:intent", self.prefix)
    }

    /// Pub/Sub channel of the game's broadcasts.
    pub fn game_channel(&self, game_id: &str) -> String {
        format!("{}:{{g:{game_id}}}:events", self.prefix)
    }

    /// Sorted set of the game's open sockets ([`super::PresenceMember`] as JSON), scored
    /// by last refresh.
    pub fn game_presence(&self, game_id: &str) -> String {
        format!("{}:{{g:{game_id}}}:presence", self.prefix)
    }

    /// Set of the seats that voted for a rematch of a finished game.
    pub fn game_rematch(&self, game_id: &str) -> String {
        format!("{}:{{g:{game_id}}}:rematch", self.prefix)
    }

    /// Emotes one seat sent in the current rate-limit window of the game.
    pub fn emote_limit(&self, game_id: &str, seat: u8) -> String {
        format!("{}:{{g:{game_id}}}:emote:{seat}", self.prefix)
    }

    /// Sorted set of player ids scored by their last heartbeat (ms).
    pub fn online_players(&self) -> String {
        format!("{}:online", self.prefix)
    }

    /// Pub/Sub channel of one player's lobby socket (match found, …).
    pub fn player_channel(&self, player_id: i64) -> String {
        format!("{}:{{u:{player_id}}}:events", self.prefix)
    }

    /// Sorted set of queued player ids scored by rating. The matchmaking keys share
    /// the hash tag `{mm}` so the pairing script can touch them together on a cluster.
    pub fn queue_ratings(&self) -> String {
        format!("{}:{{mm}}:ratings", self.prefix)
    }

    /// Sorted set of queued player ids scored by when they joined (ms).
    pub fn queue_joined(&self) -> String {
        format!("{}:{{mm}}:joined", self.prefix)
    }

    /// Sorted set of queued player ids scored by when they were last heard of (ms).
    pub fn queue_seen(&self) -> String {
        format!("{}:{{mm}}:seen", self.prefix)
    }

    /// What a matched player was paired into ([`super::MatchRecord`] as JSON), kept briefly.
    pub fn queue_match(&self, player_id: i64) -> String {
        format!("{}{player_id}", self.queue_match_prefix())
    }

    /// [`Keys::queue_match`] without the player id (for the pairing script).
    pub fn queue_match_prefix(&self) -> String {
        format!("{}:{{mm}}:match:", self.prefix)
    }

    /// Log-in attempts on one account (lower-cased username, known or not), counted in
    /// a window that expires on its own.
    pub fn login_attempts(&self, username: &str) -> String {
        format!("{}:limit:login:{}", self.prefix, username.to_lowercase())
    }

    /// Sign-ups and log-ins from one client address, counted in a window.
    pub fn address_attempts(&self, address: std::net::IpAddr) -> String {
        format!("{}:limit:addr:{address}", self.prefix)
    }

    /// Sorted set of timer members scored by when they are due (ms).
    pub fn timers(&self, timer: super::Timer) -> String {
        let name = match timer {
            super::Timer::TurnDeadline => "turn",
            super::Timer::Abandonment => "abandon",
        };
        format!("{}:timers:{name}", self.prefix)
    }

    /// Present while the timer indexes are complete. Absent on an empty Redis (a
    /// restart, a flush): some instance then re-arms every active game's clock from the
    /// database and sets it again.
    pub fn clocks_armed(&self) -> String {
        format!("{}:timers:armed", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_a_game_share_its_hash_tag() {
        let keys = Keys::new("c4");
        for key in [
            keys.game_state("abc"),
            keys.game_lock("abc"),
            keys.game_intent("abc"),
            keys.game_channel("abc"),
            keys.game_presence("abc"),
            keys.game_rematch("abc"),
            keys.emote_limit("abc", 1),
        ] {
            assert!(key.starts_with("c4:{g:abc}:"), "{key}");
        }
    }

    #[test]
    fn matchmaking_keys_share_one_slot() {
        let keys = Keys::new("c4");
        for key in [
            keys.queue_ratings(),
            keys.queue_joined(),
            keys.queue_seen(),
            keys.queue_match(7),
        ] {
            assert!(key.starts_with("c4:{mm}:"), "{key}");
        }
    }
}
