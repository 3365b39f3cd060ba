//! The Redis hot store. Every multi-step change is one Lua script (`redis::Script` runs
//! EVALSHA and reloads the script after a `NOSCRIPT`), so a change is atomic whatever
//! other instances do at the same moment. Commands go through a bb8 pool of
//! multiplexed connections.

use std::time::Duration;

use async_trait::async_trait;
use bb8_redis::{bb8, RedisConnectionManager};
use redis::{AsyncCommands, Script};

use super::{Commit, CommitOutcome, HotError, HotStore, Keys, Versioned};

/// A pool of Redis connections.
pub type RedisPool = bb8::Pool<RedisConnectionManager>;

/// Opens a pool and checks that Redis answers.
pub async fn connect_pool(url: &str) -> Result<RedisPool, HotError> {
    let manager = RedisConnectionManager::new(url)?;
    let pool = bb8::Pool::builder()
        .max_size(16)
        .connection_timeout(Duration::from_secs(3))
        .build(manager)
        .await?;
    {
        let mut conn = pool
            .get()
            .await
            .map_err(|err| HotError::Pool(err.to_string()))?;
        let _: () = redis::cmd("PING").query_async(&mut *conn).await?;
    }
    Ok(pool)
}

/// KEYS: state, lock. ARGV: token, expected version, new version, state, ttl ms, channel, events….
const COMMIT: &str = r#"
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
local current = redis.call('HGET', KEYS[1], 'v')
if current ~= ARGV[2] then return -1 end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 's', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
for i = 7, #ARGV do redis.call('PUBLISH', ARGV[6], ARGV[i]) end
redis.call('DEL', KEYS[2])
return 1
"#;

/// KEYS: state. ARGV: version, state, ttl ms.
const CREATE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 's', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"#;

/// KEYS: lock. ARGV: token. Compare-and-delete: only the holder releases.
const UNLOCK: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

/// KEYS: votes. ARGV: seat, ttl ms. Returns votes * 2 + (1 if this vote completed the pair).
const REMATCH_VOTE: &str = r#"
local added = redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local votes = redis.call('SCARD', KEYS[1])
local completed = 0
if added == 1 and votes == 2 then completed = 1 end
return votes * 2 + completed
"#;

/// Hot state in Redis, shared by every instance.
pub struct RedisHotStore {
    pool: RedisPool,
    keys: Keys,
    commit: Script,
    create: Script,
    unlock: Script,
    rematch_vote: Script,
}

impl RedisHotStore {
    pub fn new(pool: RedisPool, keys: Keys) -> RedisHotStore {
        RedisHotStore {
            pool,
            keys,
            commit: Script::new(COMMIT),
            create: Script::new(CREATE),
            unlock: Script::new(UNLOCK),
            rematch_vote: Script::new(REMATCH_VOTE),
        }
    }

    async fn conn(&self) -> Result<bb8::PooledConnection<'_, RedisConnectionManager>, HotError> {
        self.pool
            .get()
            .await
            .map_err(|err| HotError::Pool(err.to_string()))
    }
}

fn millis(duration: Duration) -> u64 {
    duration.as_millis().max(1) as u64
}

#[async_trait]
impl HotStore for RedisHotStore {
    async fn load(&self, game_id: &str, ttl: Duration) -> Result<Option<Versioned>, HotError> {
        let key = self.keys.game_state(game_id);
        let mut conn = self.conn().await?;
        let ((version, state), _): ((Option<String>, Option<String>), bool) = redis::pipe()
            .cmd("HMGET")
            .arg(&key)
            .arg("v")
            .arg("s")
            .pexpire(&key, millis(ttl) as i64)
            .query_async(&mut *conn)
            .await?;
        match (version, state) {
            (Some(version), Some(state)) => {
                let version = version
                    .parse()
                    .map_err(|_| HotError::Corrupt(format!("version {version:?} of {game_id}")))?;
                Ok(Some(Versioned { version, state }))
            }
            _ => Ok(None),
        }
    }

    async fn create(
        &self,
        game_id: &str,
        state: &Versioned,
        ttl: Duration,
    ) -> Result<bool, HotError> {
        let mut conn = self.conn().await?;
        let stored: i64 = self
            .create
            .key(self.keys.game_state(game_id))
            .arg(state.version)
            .arg(&state.state)
            .arg(millis(ttl))
            .invoke_async(&mut *conn)
            .await?;
        Ok(stored == 1)
    }

    async fn try_lock(&self, game_id: &str, token: &str, ttl: Duration) -> Result<bool, HotError> {
        let mut conn = self.conn().await?;
        let taken: Option<String> = redis::cmd("SET")
            .arg(self.keys.game_lock(game_id))
            .arg(token)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut *conn)
            .await?;
        Ok(taken.is_some())
    }

    async fn unlock(&self, game_id: &str, token: &str) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: i64 = self
            .unlock
            .key(self.keys.game_lock(game_id))
            .arg(token)
            .invoke_async(&mut *conn)
            .await?;
        Ok(())
    }

    async fn commit(&self, game_id: &str, commit: Commit<'_>) -> Result<CommitOutcome, HotError> {
        let mut conn = self.conn().await?;
        let outcome: i64 = self
            .commit
            .key(self.keys.game_state(game_id))
            .key(self.keys.game_lock(game_id))
            .arg(commit.lock_token)
            .arg(commit.expected_version.to_string())
            .arg(commit.new.version)
            .arg(&commit.new.state)
            .arg(millis(commit.ttl))
            .arg(self.keys.game_channel(game_id))
            .arg(&commit.events)
            .invoke_async(&mut *conn)
            .await?;
        Ok(match outcome {
            1 => CommitOutcome::Committed,
            0 => CommitOutcome::LockLost,
            _ => CommitOutcome::VersionChanged,
        })
    }

    async fn publish(&self, game_id: &str, event: &str) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: i64 = conn.publish(self.keys.game_channel(game_id), event).await?;
        Ok(())
    }

    async fn presence_touch(
        &self,
        game_id: &str,
        member: &str,
        now_ms: i64,
    ) -> Result<(), HotError> {
        let key = self.keys.game_presence(game_id);
        let mut conn = self.conn().await?;
        let _: () = redis::pipe()
            .zadd(&key, member, now_ms)
            .ignore()
            .pexpire(&key, 3_600_000)
            .ignore()
            .query_async(&mut *conn)
            .await?;
        Ok(())
    }

    async fn presence_remove(&self, game_id: &str, member: &str) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: i64 = conn.zrem(self.keys.game_presence(game_id), member).await?;
        Ok(())
    }

    async fn presence_members(
        &self,
        game_id: &str,
        since_ms: i64,
    ) -> Result<Vec<String>, HotError> {
        let mut conn = self.conn().await?;
        Ok(conn
            .zrangebyscore(self.keys.game_presence(game_id), since_ms, "+inf")
            .await?)
    }

    async fn online_touch(&self, player_id: i64, now_ms: i64) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: i64 = conn
            .zadd(self.keys.online_players(), player_id, now_ms)
            .await?;
        Ok(())
    }

    async fn online_count(&self, since_ms: i64) -> Result<u64, HotError> {
        let key = self.keys.online_players();
        let mut conn = self.conn().await?;
        let (_, count): (i64, u64) = redis::pipe()
            .zrembyscore(&key, "-inf", since_ms - 1)
            .zcount(&key, since_ms, "+inf")
            .query_async(&mut *conn)
            .await?;
        Ok(count)
    }

    async fn rematch_vote(
        &self,
        game_id: &str,
        seat: u8,
        ttl: Duration,
    ) -> Result<(u8, bool), HotError> {
        let mut conn = self.conn().await?;
        let packed: i64 = self
            .rematch_vote
            .key(self.keys.game_rematch(game_id))
            .arg(seat)
            .arg(millis(ttl))
            .invoke_async(&mut *conn)
            .await?;
        Ok(((packed / 2) as u8, packed % 2 == 1))
    }

    async fn ping(&self) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: () = redis::cmd("PING").query_async(&mut *conn).await?;
        Ok(())
    }
}
