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

    /// Pub/Sub channel of the game's broadcasts.
    pub fn game_channel(&self, game_id: &str) -> String {
        format!("{}:{{g:{game_id}}}:events", self.prefix)
    }

    /// Sorted set of the game's open sockets (`<role>|<instance>|<socket>`), scored by last refresh.
    pub fn game_presence(&self, game_id: &str) -> String {
        format!("{}:{{g:{game_id}}}:presence", self.prefix)
    }

    /// Set of the seats that voted for a rematch of a finished game.
    pub fn game_rematch(&self, game_id: &str) -> String {
        format!("{}:{{g:{game_id}}}:rematch", self.prefix)
    }

    /// Sorted set of player ids scored by their last heartbeat (ms).
    pub fn online_players(&self) -> String {
        format!("{}:online", self.prefix)
    }

    /// The game id a channel name belongs to, if it is one of ours.
    pub fn game_of_channel<'a>(&self, channel: &'a str) -> Option<&'a str> {
        channel
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(":{g:")?
            .strip_suffix("}:events")
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
            keys.game_channel("abc"),
            keys.game_presence("abc"),
            keys.game_rematch("abc"),
        ] {
            assert!(key.starts_with("c4:{g:abc}:"), "{key}");
        }
    }

    #[test]
    fn a_channel_names_its_game() {
        let keys = Keys::new("t1");
        assert_eq!(
            keys.game_of_channel(&keys.game_channel("g-42")),
            Some("g-42")
        );
        assert_eq!(keys.game_of_channel("other:{g:x}:events"), None);
    }
}
