//! The Redis hot store. Every multi-step change is one Lua script (`redis::Script` runs
//! EVALSHA and reloads the script after a `NOSCRIPT`), so a change is atomic whatever
//! other instances do at the same moment. Commands go through a bb8 pool of
//! connections to one Redis, or through one slot-aware cluster connection on Redis
//! Cluster; every script and pipeline touches keys of a single hash slot.
//!
//! A pooled [`Link`] is checked with a `PING` only when it has not answered for
//! [`ANSWERED_RECENTLY`]: under load a link is never idle that long, so no move pays a
//! round trip for the check, while a link idle across a Redis restart is still tested
//! (and replaced) before use. A link whose request failed at the connection level is
//! dropped by the pool.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::{
    aio::{ConnectionLike, MultiplexedConnection},
    cluster_async::ClusterConnection,
    AsyncCommands, Client, Cmd, Pipeline, RedisError, RedisFuture, RedisResult, Script, Value,
};

use super::{
    Commit, CommitOutcome, HotError, HotStore, Keys, Loaded, PairingRules, Release, Timer,
    Versioned,
};

/// A pooled link not heard from for longer than this is pinged before use.
const ANSWERED_RECENTLY: Duration = Duration::from_millis(100);

/// A pool of Redis connections.
pub type RedisPool = bb8::Pool<LinkManager>;

/// One pooled connection and what the pool needs to know about its health.
pub struct Link {
    connection: MultiplexedConnection,
    answered: Instant,
    broken: bool,
}

impl Link {
    fn note<T>(&mut self, result: &RedisResult<T>) {
        match result {
            Ok(_) => self.answered = Instant::now(),
            Err(err) => {
                self.broken |=
                    err.is_io_error() || err.is_connection_dropped() || err.is_unrecoverable_error()
            }
        }
    }
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let result = self.connection.req_packed_command(cmd).await;
            self.note(&result);
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let result = self
                .connection
                .req_packed_commands(pipeline, offset, count)
                .await;
            self.note(&result);
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.connection.get_db()
    }
}

/// Opens, checks and retires [`Link`]s for the pool.
pub struct LinkManager {
    client: Client,
}

impl bb8::ManageConnection for LinkManager {
    type Connection = Link;
    type Error = RedisError;

    async fn connect(&self) -> Result<Link, RedisError> {
        Ok(Link {
            connection: self.client.get_multiplexed_async_connection().await?,
            answered: Instant::now(),
            broken: false,
        })
    }

    async fn is_valid(&self, link: &mut Link) -> Result<(), RedisError> {
        if link.answered.elapsed() < ANSWERED_RECENTLY {
            return Ok(());
        }
        redis::cmd("PING").query_async(link).await
    }

    fn has_broken(&self, link: &mut Link) -> bool {
        link.broken
    }
}

/// Opens a pool and checks that Redis answers.
pub async fn connect_pool(url: &str) -> Result<RedisPool, HotError> {
    let manager = LinkManager {
        client: Client::open(url)?,
    };
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

/// Where commands go.
#[derive(Clone)]
pub enum RedisBackend {
    /// One Redis server, through a pool.
    Single(RedisPool),
    /// Redis Cluster: one multiplexed, slot-aware connection (needs no pool).
    Cluster(ClusterConnection),
}

impl From<RedisPool> for RedisBackend {
    fn from(pool: RedisPool) -> Self {
        RedisBackend::Single(pool)
    }
}

/// Connects to Redis Cluster through its seed nodes and checks it answers.
pub async fn connect_cluster(seeds: &[String]) -> Result<RedisBackend, HotError> {
    let client =
        redis::cluster::ClusterClient::new(seeds.iter().map(String::as_str).collect::<Vec<_>>())?;
    let mut connection = client.get_async_connection().await?;
    let _: () = redis::cmd("PING").query_async(&mut connection).await?;
    Ok(RedisBackend::Cluster(connection))
}

/// A connection for one operation.
enum Conn<'a> {
    Single(bb8::PooledConnection<'a, LinkManager>),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn<'_> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(conn) => conn.req_packed_command(cmd),
            Conn::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(conn) => conn.get_db(),
            Conn::Cluster(conn) => conn.get_db(),
        }
    }
}

/// KEYS: state, lock, channel, intent, and on a single Redis the turn-deadline index
/// (on a cluster it lives in another slot and is written after the script). ARGV:
/// token, expected version (`""`: no state stored), new version, state, ttl ms, publish
/// command (`PUBLISH`, or `SPUBLISH` on a cluster: the channel shares the game's slot),
/// deadline ms or "" to remove the game from the index, game id, events….
const COMMIT: &str = r#"
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
local current = redis.call('HGET', KEYS[1], 'v') or ''
if current ~= ARGV[2] then return -1 end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 's', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
for i = 9, #ARGV do redis.call(ARGV[6], KEYS[3], ARGV[i]) end
if KEYS[5] then
  if ARGV[7] == '' then redis.call('ZREM', KEYS[5], ARGV[8])
  else redis.call('ZADD', KEYS[5], ARGV[7], ARGV[8]) end
end
redis.call('DEL', KEYS[2], KEYS[4])
return 1
"#;

/// KEYS: lock, state, intent. ARGV: token, lock ttl ms, state ttl ms. Takes the lock
/// (`SET NX PX`); when taken, reports the intent a previous holder left (or ""),
/// records this holder's, and reads the state (sliding its TTL). Nil: lock held.
const LOCK_AND_LOAD: &str = r#"
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local left = redis.call('GET', KEYS[3]) or ''
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[3])
local s = redis.call('HMGET', KEYS[2], 'v', 's')
if s[1] then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
return {left, s[1] or '', s[2] or ''}
"#;

/// KEYS: state. ARGV: version, state, ttl ms.
const CREATE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 's', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"#;

/// KEYS: lock, intent. ARGV: token, "1" to withdraw the intent too. Compare-and-delete:
/// only the holder releases.
const UNLOCK: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then return redis.call('DEL', KEYS[1], KEYS[2]) end
return redis.call('DEL', KEYS[1])
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

/// KEYS: ratings, joined, seen. ARGV: player, now ms, base, widen/s, cap, stale ms,
/// match-key prefix. Must agree with `PairingRules::window`. Both players' match keys
/// are set to `pending:<now>` in the same step (they share the `{mm}` slot), so a paired
/// player is never reported as out of the queue while its game is being created.
const TRY_PAIR: &str = r#"
local now = tonumber(ARGV[2])
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[6]))
for _, gone in ipairs(stale) do
  redis.call('ZREM', KEYS[1], gone)
  redis.call('ZREM', KEYS[2], gone)
  redis.call('ZREM', KEYS[3], gone)
end
local me = ARGV[1]
local my_rating = redis.call('ZSCORE', KEYS[1], me)
if not my_rating then return false end
my_rating = tonumber(my_rating)
local base, widen, cap = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local function window(player)
  local joined = tonumber(redis.call('ZSCORE', KEYS[2], player) or now)
  return math.min(base + widen * math.floor(math.max(now - joined, 0) / 1000), cap)
end
local mine = window(me)
local candidates = redis.call('ZRANGEBYSCORE', KEYS[1], my_rating - cap, my_rating + cap, 'WITHSCORES')
local best, best_gap = nil, nil
for i = 1, #candidates, 2 do
  local other = candidates[i]
  if other ~= me then
    local gap = math.abs(tonumber(candidates[i + 1]) - my_rating)
    if (best == nil or gap < best_gap) and gap <= math.max(mine, window(other)) then
      best, best_gap = other, gap
    end
  end
end
if not best then return false end
for _, player in ipairs({me, best}) do
  redis.call('ZREM', KEYS[1], player)
  redis.call('ZREM', KEYS[2], player)
  redis.call('ZREM', KEYS[3], player)
  redis.call('SET', ARGV[7] .. player, 'pending:' .. ARGV[2], 'PX', 30000)
end
return best
"#;

/// KEYS: ratings, joined, seen. ARGV: player, rating, now ms.
const QUEUE_JOIN: &str = r#"
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
"#;

/// Hot state in Redis, shared by every instance.
pub struct RedisHotStore {
    backend: RedisBackend,
    keys: Keys,
    commit: Script,
    lock_and_load: Script,
    create: Script,
    unlock: Script,
    rematch_vote: Script,
    try_pair: Script,
    queue_join: Script,
}

impl RedisHotStore {
    pub fn new(backend: impl Into<RedisBackend>, keys: Keys) -> RedisHotStore {
        RedisHotStore {
            backend: backend.into(),
            keys,
            commit: Script::new(COMMIT),
            lock_and_load: Script::new(LOCK_AND_LOAD),
            create: Script::new(CREATE),
            unlock: Script::new(UNLOCK),
            rematch_vote: Script::new(REMATCH_VOTE),
            try_pair: Script::new(TRY_PAIR),
            queue_join: Script::new(QUEUE_JOIN),
        }
    }

    /// Sharded Pub/Sub on a cluster (each game's broadcasts stay on its shard).
    /// Reads the game's state (`HMGET v s`), slides its TTL, and looks for a write
    /// intent and the lock: four replies.
    fn add_load(&self, pipe: &mut Pipeline, game_id: &str, ttl: Duration) {
        let key = self.keys.game_state(game_id);
        pipe.cmd("HMGET")
            .arg(&key)
            .arg("v")
            .arg("s")
            .pexpire(&key, millis(ttl) as i64)
            .exists(self.keys.game_intent(game_id))
            .exists(self.keys.game_lock(game_id));
    }

    fn publish_command(&self) -> &'static str {
        match self.backend {
            RedisBackend::Single(_) => "PUBLISH",
            RedisBackend::Cluster(_) => "SPUBLISH",
        }
    }

    async fn conn(&self) -> Result<Conn<'_>, HotError> {
        match &self.backend {
            RedisBackend::Single(pool) => pool
                .get()
                .await
                .map(Conn::Single)
                .map_err(|err| HotError::Pool(err.to_string())),
            RedisBackend::Cluster(connection) => Ok(Conn::Cluster(connection.clone())),
        }
    }
}

/// A stored state from its two hash fields; `None` when the game has no state.
fn versioned(
    game_id: &str,
    version: Option<String>,
    state: Option<String>,
) -> Result<Option<Versioned>, HotError> {
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

fn millis(duration: Duration) -> u64 {
    duration.as_millis().max(1) as u64
}

#[async_trait]
impl HotStore for RedisHotStore {
    async fn load(&self, game_id: &str, ttl: Duration) -> Result<Loaded, HotError> {
        let mut pipe = redis::pipe();
        self.add_load(&mut pipe, game_id, ttl);
        let mut conn = self.conn().await?;
        let ((version, state), _, intent, locked): (
            (Option<String>, Option<String>),
            bool,
            bool,
            bool,
        ) = pipe.query_async(&mut conn).await?;
        Ok(Loaded {
            state: versioned(game_id, version, state)?,
            interrupted: intent && !locked,
        })
    }

    async fn try_lock_and_load(
        &self,
        game_id: &str,
        token: &str,
        lock_ttl: Duration,
        state_ttl: Duration,
    ) -> Result<Option<Loaded>, HotError> {
        let mut conn = self.conn().await?;
        let taken: Option<(String, String, String)> = self
            .lock_and_load
            .key(self.keys.game_lock(game_id))
            .key(self.keys.game_state(game_id))
            .key(self.keys.game_intent(game_id))
            .arg(token)
            .arg(millis(lock_ttl))
            .arg(millis(state_ttl))
            .invoke_async(&mut conn)
            .await?;
        let Some((left, version, state)) = taken else {
            return Ok(None);
        };
        let present = |text: String| (!text.is_empty()).then_some(text);
        Ok(Some(Loaded {
            state: versioned(game_id, present(version), present(state))?,
            interrupted: !left.is_empty(),
        }))
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
            .invoke_async(&mut conn)
            .await?;
        Ok(stored == 1)
    }

    async fn unlock(&self, game_id: &str, token: &str, release: Release) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: i64 = self
            .unlock
            .key(self.keys.game_lock(game_id))
            .key(self.keys.game_intent(game_id))
            .arg(token)
            .arg(if release == Release::Clean { "1" } else { "0" })
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn commit(&self, game_id: &str, commit: Commit<'_>) -> Result<CommitOutcome, HotError> {
        let cluster = matches!(self.backend, RedisBackend::Cluster(_));
        let mut invocation = self.commit.prepare_invoke();
        invocation
            .key(self.keys.game_state(game_id))
            .key(self.keys.game_lock(game_id))
            .key(self.keys.game_channel(game_id))
            .key(self.keys.game_intent(game_id));
        if !cluster {
            invocation.key(self.keys.timers(Timer::TurnDeadline));
        }
        invocation
            .arg(commit.lock_token)
            .arg(
                commit
                    .expected_version
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
            )
            .arg(commit.new.version)
            .arg(&commit.new.state)
            .arg(millis(commit.ttl))
            .arg(self.publish_command())
            .arg(
                commit
                    .turn_deadline_ms
                    .map(|ms| ms.to_string())
                    .unwrap_or_default(),
            )
            .arg(game_id)
            .arg(&commit.events);
        let mut conn = self.conn().await?;
        let outcome: i64 = invocation.invoke_async(&mut conn).await?;
        let outcome = match outcome {
            1 => CommitOutcome::Committed,
            0 => CommitOutcome::LockLost,
            _ => CommitOutcome::VersionChanged,
        };
        if cluster && outcome == CommitOutcome::Committed {
            match commit.turn_deadline_ms {
                Some(due_ms) => self.schedule(Timer::TurnDeadline, game_id, due_ms).await?,
                None => self.unschedule(Timer::TurnDeadline, game_id).await?,
            }
        }
        Ok(outcome)
    }

    async fn publish(&self, channel: &str, event: &str) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: i64 = redis::cmd(self.publish_command())
            .arg(channel)
            .arg(event)
            .query_async(&mut conn)
            .await?;
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
            .query_async(&mut conn)
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
            .query_async(&mut conn)
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
            .invoke_async(&mut conn)
            .await?;
        Ok(((packed / 2) as u8, packed % 2 == 1))
    }

    async fn queue_join(&self, player_id: i64, rating: i32, now_ms: i64) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: i64 = self
            .queue_join
            .key(self.keys.queue_ratings())
            .key(self.keys.queue_joined())
            .key(self.keys.queue_seen())
            .arg(player_id)
            .arg(rating)
            .arg(now_ms)
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn queue_try_pair(
        &self,
        player_id: i64,
        now_ms: i64,
        rules: PairingRules,
    ) -> Result<Option<i64>, HotError> {
        let mut conn = self.conn().await?;
        let partner: Option<i64> = self
            .try_pair
            .key(self.keys.queue_ratings())
            .key(self.keys.queue_joined())
            .key(self.keys.queue_seen())
            .arg(player_id)
            .arg(now_ms)
            .arg(rules.base)
            .arg(rules.widen_per_second)
            .arg(rules.cap)
            .arg(rules.stale_ms)
            .arg(self.keys.queue_match_prefix())
            .invoke_async(&mut conn)
            .await?;
        Ok(partner)
    }

    async fn queue_leave(&self, player_id: i64) -> Result<bool, HotError> {
        let mut conn = self.conn().await?;
        let (removed, _, _): (i64, i64, i64) = redis::pipe()
            .zrem(self.keys.queue_ratings(), player_id)
            .zrem(self.keys.queue_joined(), player_id)
            .zrem(self.keys.queue_seen(), player_id)
            .query_async(&mut conn)
            .await?;
        Ok(removed == 1)
    }

    async fn queue_status(
        &self,
        player_id: i64,
        now_ms: i64,
    ) -> Result<(Option<u64>, u64), HotError> {
        let mut conn = self.conn().await?;
        let (_, rank, size): (i64, Option<u64>, u64) = redis::pipe()
            .cmd("ZADD")
            .arg(self.keys.queue_seen())
            .arg("XX")
            .arg(now_ms)
            .arg(player_id)
            .zrank(self.keys.queue_joined(), player_id)
            .zcard(self.keys.queue_ratings())
            .query_async(&mut conn)
            .await?;
        Ok((rank.map(|r| r + 1), size))
    }

    async fn queue_players(&self, limit: usize) -> Result<Vec<i64>, HotError> {
        let mut conn = self.conn().await?;
        Ok(conn
            .zrange(self.keys.queue_joined(), 0, limit as isize - 1)
            .await?)
    }

    async fn set_match(&self, player_id: i64, value: &str, ttl: Duration) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: () = conn
            .pset_ex(self.keys.queue_match(player_id), value, millis(ttl))
            .await?;
        Ok(())
    }

    async fn get_match(&self, player_id: i64) -> Result<Option<String>, HotError> {
        let mut conn = self.conn().await?;
        Ok(conn.get(self.keys.queue_match(player_id)).await?)
    }

    async fn clear_match(&self, player_id: i64) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: i64 = conn.del(self.keys.queue_match(player_id)).await?;
        Ok(())
    }

    async fn schedule(&self, timer: Timer, member: &str, due_ms: i64) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: i64 = conn.zadd(self.keys.timers(timer), member, due_ms).await?;
        Ok(())
    }

    async fn unschedule(&self, timer: Timer, member: &str) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: i64 = conn.zrem(self.keys.timers(timer), member).await?;
        Ok(())
    }

    async fn due(&self, timer: Timer, now_ms: i64, limit: usize) -> Result<Vec<String>, HotError> {
        let mut conn = self.conn().await?;
        Ok(conn
            .zrangebyscore_limit(self.keys.timers(timer), "-inf", now_ms, 0, limit as isize)
            .await?)
    }

    async fn clocks_armed(&self) -> Result<bool, HotError> {
        let mut conn = self.conn().await?;
        Ok(conn.exists(self.keys.clocks_armed()).await?)
    }

    async fn mark_clocks_armed(&self) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: () = conn.set(self.keys.clocks_armed(), 1).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: () = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }
}
