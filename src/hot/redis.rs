//! The Redis hot store. Every multi-step change is one Lua script (`redis::Script` runs
//! EVALSHA and reloads the script after a `NOSCRIPT`), so a change is atomic whatever
//! other instances do at the same moment. Every script and pipeline touches keys of a
//! single hash slot.
//!
//! No command needs a connection of its own (there are no blocking commands; Pub/Sub
//! has its own connection in `fanout`), so commands are multiplexed: on one Redis they
//! go round-robin over [`LINKS`] auto-reconnecting [`ConnectionManager`]s, each
//! pipelining up to [`IN_FLIGHT_PER_LINK`] requests; on Redis Cluster through one
//! slot-aware connection. Nobody waits for a free connection, so a burst of requests
//! queues behind those limits (back-pressure) instead of timing out on a pool checkout.
//! The readiness probe has a link of its own, so it answers whether Redis does, not
//! whether this instance is busy.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use async_trait::async_trait;
use redis::{
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
    cluster_async::ClusterConnection,
    AsyncCommands, Client, Cmd, Pipeline, RedisFuture, Script, Value,
};

use super::{
    Commit, CommitOutcome, Deadline, HotError, HotStore, Keys, Loaded, MatchRecord, PairingRules,
    PresenceMember, Release, Timer, Versioned, PENDING_MATCH_TTL,
};

/// Multiplexed connections commands are spread over (one Redis).
const LINKS: usize = 4;
/// Requests one link has in flight at most; more wait for an answer (back-pressure).
const IN_FLIGHT_PER_LINK: usize = 256;
/// Commands queued for one link before callers wait to enqueue.
const QUEUED_PER_LINK: usize = 1024;
/// A command not answered within this is an error (Redis is stuck or gone).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// A game's presence set goes this long after its last refresh (nobody watches anymore).
const PRESENCE_TTL: Duration = Duration::from_secs(3600);

/// Connections to one Redis: [`LINKS`] for commands, one for the readiness probe.
#[derive(Clone)]
pub struct RedisLinks {
    links: Vec<ConnectionManager>,
    probe: ConnectionManager,
    next: std::sync::Arc<AtomicUsize>,
}

impl RedisLinks {
    fn pick(&self) -> ConnectionManager {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.links[n % self.links.len()].clone()
    }
}

/// Connects to one Redis and checks that it answers.
pub async fn connect_single(url: &str) -> Result<RedisBackend, HotError> {
    let client = Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_connection_timeout(Some(Duration::from_secs(3)))
        .set_concurrency_limit(IN_FLIGHT_PER_LINK)
        .set_pipeline_buffer_size(QUEUED_PER_LINK)
        // A restarted Redis is usually back within a second: retry soon and often
        // (10, 20, 40 … 500 ms), so requests fail for no longer than it is away.
        .set_min_delay(Duration::from_millis(10))
        .set_max_delay(Duration::from_millis(500))
        .set_number_of_retries(12);
    let mut links = Vec::with_capacity(LINKS);
    for _ in 0..LINKS {
        links.push(ConnectionManager::new_with_config(client.clone(), config.clone()).await?);
    }
    let mut probe = ConnectionManager::new_with_config(client, config).await?;
    let _: () = redis::cmd("PING").query_async(&mut probe).await?;
    Ok(RedisBackend::Single(RedisLinks {
        links,
        probe,
        next: Default::default(),
    }))
}

/// Where commands go.
#[derive(Clone)]
pub enum RedisBackend {
    /// One Redis server, through multiplexed links.
    Single(RedisLinks),
    /// Redis Cluster: one multiplexed, slot-aware connection.
    Cluster(ClusterConnection),
}

/// Connects to Redis Cluster through its seed nodes and checks it answers.
pub async fn connect_cluster(seeds: &[String]) -> Result<RedisBackend, HotError> {
    let client =
        redis::cluster::ClusterClient::new(seeds.iter().map(String::as_str).collect::<Vec<_>>())?;
    let mut connection = client.get_async_connection().await?;
    let _: () = redis::cmd("PING").query_async(&mut connection).await?;
    Ok(RedisBackend::Cluster(connection))
}

/// A connection for one operation (a cheap handle on a shared, multiplexed one).
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
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
/// match-key prefix, pending match record, its ttl ms. Must agree with
/// `PairingRules::window`; among equally close partners the first to join wins, then
/// the lower id. Both players' match records are set to the pending record in the same
/// step (they share the `{mm}` slot), so a paired player is never reported as out of
/// the queue while its game is being created.
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
local function joined(player)
  return tonumber(redis.call('ZSCORE', KEYS[2], player) or now)
end
local function window(player)
  return math.min(base + widen * math.floor(math.max(now - joined(player), 0) / 1000), cap)
end
local function before(a, b)
  for i = 1, 3 do
    if a[i] ~= b[i] then return a[i] < b[i] end
  end
  return false
end
local mine = window(me)
local candidates = redis.call('ZRANGEBYSCORE', KEYS[1], my_rating - cap, my_rating + cap, 'WITHSCORES')
local best, best_rank = nil, nil
for i = 1, #candidates, 2 do
  local other = candidates[i]
  if other ~= me then
    local gap = math.abs(tonumber(candidates[i + 1]) - my_rating)
    if gap <= math.max(mine, window(other)) then
      local rank = {gap, joined(other), tonumber(other)}
      if best == nil or before(rank, best_rank) then best, best_rank = other, rank end
    end
  end
end
if not best then return false end
for _, player in ipairs({me, best}) do
  redis.call('ZREM', KEYS[1], player)
  redis.call('ZREM', KEYS[2], player)
  redis.call('ZREM', KEYS[3], player)
  redis.call('SET', ARGV[7] .. player, ARGV[8], 'PX', ARGV[9])
end
return best
"#;

/// KEYS: ratings, joined, seen. ARGV: player, now ms. Refreshes the player's entry;
/// returns {queue size} or, if queued, {queue size, 1-based position by joining time
/// and then player id}.
const QUEUE_STATUS: &str = r#"
redis.call('ZADD', KEYS[3], 'XX', ARGV[2], ARGV[1])
local size = redis.call('ZCARD', KEYS[1])
local joined = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not joined then return {size} end
local position = redis.call('ZCOUNT', KEYS[2], '-inf', '(' .. joined) + 1
local me = tonumber(ARGV[1])
for _, other in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], joined, joined)) do
  if tonumber(other) < me then position = position + 1 end
end
return {size, position}
"#;

/// KEYS: joined. ARGV: limit. The first `limit` players by joining time, then player id
/// (a sorted set orders equal scores by member text, where "10" < "9").
const QUEUE_PLAYERS: &str = r#"
local limit = tonumber(ARGV[1])
if limit <= 0 then return {} end
local head = redis.call('ZRANGE', KEYS[1], 0, limit - 1, 'WITHSCORES')
if #head == 0 then return {} end
local last = head[#head]
local entries = {}
for i = 1, #head, 2 do
  if head[i + 1] ~= last then
    table.insert(entries, {tonumber(head[i + 1]), tonumber(head[i]), head[i]})
  end
end
for _, player in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], last, last)) do
  table.insert(entries, {tonumber(last), tonumber(player), player})
end
table.sort(entries, function(a, b)
  if a[1] ~= b[1] then return a[1] < b[1] end
  return a[2] < b[2]
end)
local players = {}
for i = 1, math.min(limit, #entries) do players[i] = entries[i][3] end
return players
"#;

/// KEYS: ratings, joined, seen. ARGV: player, rating, now ms.
const QUEUE_JOIN: &str = r#"
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
"#;

/// KEYS: counter. ARGV: window ms. Returns {attempts, ms until the window closes}.
const COUNT_ATTEMPT: &str = r#"
local attempts = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {attempts, left}
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
    queue_status: Script,
    queue_players: Script,
    count_attempt: Script,
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
            queue_status: Script::new(QUEUE_STATUS),
            queue_players: Script::new(QUEUE_PLAYERS),
            count_attempt: Script::new(COUNT_ATTEMPT),
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

    async fn conn(&self) -> Result<Conn, HotError> {
        Ok(match &self.backend {
            RedisBackend::Single(links) => Conn::Single(links.pick()),
            RedisBackend::Cluster(connection) => Conn::Cluster(connection.clone()),
        })
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
            let deadline = Deadline::turn(game_id);
            match commit.turn_deadline_ms {
                Some(due_ms) => self.schedule(&deadline, due_ms).await?,
                None => self.unschedule(&deadline).await?,
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
        member: &PresenceMember,
        now_ms: i64,
    ) -> Result<(), HotError> {
        let key = self.keys.game_presence(game_id);
        let mut conn = self.conn().await?;
        let _: () = redis::pipe()
            .zadd(&key, member.encode()?, now_ms)
            .ignore()
            .pexpire(&key, millis(PRESENCE_TTL) as i64)
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn presence_remove(
        &self,
        game_id: &str,
        member: &PresenceMember,
    ) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: i64 = conn
            .zrem(self.keys.game_presence(game_id), member.encode()?)
            .await?;
        Ok(())
    }

    async fn presence_members(
        &self,
        game_id: &str,
        since_ms: i64,
    ) -> Result<Vec<PresenceMember>, HotError> {
        let mut conn = self.conn().await?;
        let members: Vec<String> = conn
            .zrangebyscore(self.keys.game_presence(game_id), since_ms, "+inf")
            .await?;
        Ok(members
            .iter()
            .filter_map(|member| PresenceMember::decode(member))
            .collect())
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
            .arg(MatchRecord::Pending { since_ms: now_ms }.encode()?)
            .arg(millis(PENDING_MATCH_TTL))
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

    async fn queue_size(&self) -> Result<u64, HotError> {
        let mut conn = self.conn().await?;
        Ok(conn.zcard(self.keys.queue_ratings()).await?)
    }

    async fn queue_status(
        &self,
        player_id: i64,
        now_ms: i64,
    ) -> Result<(Option<u64>, u64), HotError> {
        let mut conn = self.conn().await?;
        let reply: Vec<u64> = self
            .queue_status
            .key(self.keys.queue_ratings())
            .key(self.keys.queue_joined())
            .key(self.keys.queue_seen())
            .arg(player_id)
            .arg(now_ms)
            .invoke_async(&mut conn)
            .await?;
        Ok((reply.get(1).copied(), reply.first().copied().unwrap_or(0)))
    }

    async fn queue_players(&self, limit: usize) -> Result<Vec<i64>, HotError> {
        let mut conn = self.conn().await?;
        Ok(self
            .queue_players
            .key(self.keys.queue_joined())
            .arg(limit)
            .invoke_async(&mut conn)
            .await?)
    }

    async fn set_match(
        &self,
        player_id: i64,
        record: &MatchRecord,
        ttl: Duration,
    ) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: () = conn
            .pset_ex(
                self.keys.queue_match(player_id),
                record.encode()?,
                millis(ttl),
            )
            .await?;
        Ok(())
    }

    async fn get_match(&self, player_id: i64) -> Result<Option<MatchRecord>, HotError> {
        let mut conn = self.conn().await?;
        let stored: Option<String> = conn.get(self.keys.queue_match(player_id)).await?;
        Ok(stored.as_deref().and_then(MatchRecord::decode))
    }

    async fn clear_match(&self, player_id: i64) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: i64 = conn.del(self.keys.queue_match(player_id)).await?;
        Ok(())
    }

    async fn schedule(&self, deadline: &Deadline, due_ms: i64) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: i64 = conn
            .zadd(
                self.keys.timers(deadline.timer()),
                deadline.encode()?,
                due_ms,
            )
            .await?;
        Ok(())
    }

    async fn unschedule(&self, deadline: &Deadline) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: i64 = conn
            .zrem(self.keys.timers(deadline.timer()), deadline.encode()?)
            .await?;
        Ok(())
    }

    async fn due(
        &self,
        timer: Timer,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<Deadline>, HotError> {
        let key = self.keys.timers(timer);
        let mut conn = self.conn().await?;
        let members: Vec<String> = conn
            .zrangebyscore_limit(&key, "-inf", now_ms, 0, limit as isize)
            .await?;
        let mut due = Vec::with_capacity(members.len());
        for member in members {
            match Deadline::decode(timer, &member) {
                Some(deadline) => due.push(deadline),
                None => {
                    let _: i64 = conn.zrem(&key, &member).await?;
                }
            }
        }
        Ok(due)
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

    async fn count_attempt(
        &self,
        key: &str,
        window: Duration,
    ) -> Result<(u64, Duration), HotError> {
        let mut conn = self.conn().await?;
        let (attempts, left_ms): (u64, u64) = self
            .count_attempt
            .key(key)
            .arg(millis(window))
            .invoke_async(&mut conn)
            .await?;
        Ok((attempts, Duration::from_millis(left_ms)))
    }

    async fn clear_attempts(&self, key: &str) -> Result<(), HotError> {
        let mut conn = self.conn().await?;
        let _: i64 = conn.del(key).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), HotError> {
        let mut conn = match &self.backend {
            RedisBackend::Single(links) => Conn::Single(links.probe.clone()),
            RedisBackend::Cluster(connection) => Conn::Cluster(connection.clone()),
        };
        let _: () = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }
}
