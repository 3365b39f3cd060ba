//! The embedded mode's hot store: the same contract as Redis, kept in this process
//! behind one mutex (every operation is a few map look-ups). Expiry is checked on
//! access. Commits deliver their event straight into the local rooms.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use async_trait::async_trait;

use super::{
    Commit, CommitOutcome, Deadline, HotError, HotStore, Keys, Loaded, MatchRecord, PairingRules,
    PresenceMember, Release, Timer, Versioned, PENDING_MATCH_TTL,
};
use crate::fanout::Rooms;

struct Expiring<T> {
    value: T,
    expires: Instant,
}

impl<T> Expiring<T> {
    fn new(value: T, ttl: Duration) -> Self {
        Expiring {
            value,
            expires: Instant::now() + ttl,
        }
    }

    fn alive(&self) -> bool {
        self.expires > Instant::now()
    }
}

#[derive(Default)]
struct Inner {
    states: HashMap<String, Expiring<Versioned>>,
    locks: HashMap<String, Expiring<String>>,
    intents: HashMap<String, Expiring<String>>,
    clocks_armed: bool,
    presence: HashMap<String, HashMap<PresenceMember, i64>>,
    online: HashMap<i64, i64>,
    rematch_votes: HashMap<String, Expiring<HashSet<u8>>>,
    queue: HashMap<i64, Queued>,
    matches: HashMap<i64, Expiring<MatchRecord>>,
    timers: HashMap<Timer, HashMap<String, i64>>,
    attempts: HashMap<String, Expiring<u64>>,
}

/// Past this many rate-limit counters, expired ones are swept on the next count.
const ATTEMPT_COUNTERS_SWEEP: usize = 10_000;

impl Inner {
    /// The live state of a game (dropping an expired one) with its TTL slid.
    fn state(&mut self, game_id: &str, ttl: Duration) -> Option<Versioned> {
        match self.states.get_mut(game_id) {
            Some(entry) if entry.alive() => {
                entry.expires = Instant::now() + ttl;
                Some(entry.value.clone())
            }
            Some(_) => {
                self.states.remove(game_id);
                None
            }
            None => None,
        }
    }

    fn has_intent(&self, game_id: &str) -> bool {
        self.intents.get(game_id).is_some_and(Expiring::alive)
    }

    /// Drops the lock and the write intent of a game.
    fn release(&mut self, game_id: &str) {
        self.locks.remove(game_id);
        self.intents.remove(game_id);
    }

    /// Puts a deadline in its index, due at `due_ms`, or takes it out (`None`). Members
    /// are stored encoded as in Redis, so both order equal due times alike.
    fn set_timer(&mut self, deadline: &Deadline, due_ms: Option<i64>) -> Result<(), HotError> {
        let member = deadline.encode()?;
        let members = self.timers.entry(deadline.timer()).or_default();
        match due_ms {
            Some(due_ms) => members.insert(member, due_ms),
            None => members.remove(&member),
        };
        Ok(())
    }
}

struct Queued {
    rating: i32,
    joined_ms: i64,
    seen_ms: i64,
}

/// Hot state of a single embedded instance.
pub struct MemoryHotStore {
    inner: Mutex<Inner>,
    rooms: Arc<Rooms>,
    keys: Keys,
}

impl MemoryHotStore {
    pub fn new(rooms: Arc<Rooms>, keys: Keys) -> MemoryHotStore {
        MemoryHotStore {
            inner: Mutex::default(),
            rooms,
            keys,
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // Every critical section below leaves the maps consistent, even if a caller panicked.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn live_lock_holder<'a>(inner: &'a Inner, game_id: &str) -> Option<&'a str> {
    inner
        .locks
        .get(game_id)
        .filter(|lock| lock.alive())
        .map(|lock| lock.value.as_str())
}

#[async_trait]
impl HotStore for MemoryHotStore {
    async fn load(&self, game_id: &str, ttl: Duration) -> Result<Loaded, HotError> {
        let mut inner = self.inner();
        let interrupted = inner.has_intent(game_id) && live_lock_holder(&inner, game_id).is_none();
        Ok(Loaded {
            state: inner.state(game_id, ttl),
            interrupted,
        })
    }

    async fn create(
        &self,
        game_id: &str,
        state: &Versioned,
        ttl: Duration,
    ) -> Result<bool, HotError> {
        let mut inner = self.inner();
        if inner.states.get(game_id).is_some_and(Expiring::alive) {
            return Ok(false);
        }
        inner
            .states
            .insert(game_id.to_string(), Expiring::new(state.clone(), ttl));
        Ok(true)
    }

    async fn try_lock_and_load(
        &self,
        game_id: &str,
        token: &str,
        lock_ttl: Duration,
        state_ttl: Duration,
    ) -> Result<Option<Loaded>, HotError> {
        let mut inner = self.inner();
        if live_lock_holder(&inner, game_id).is_some() {
            return Ok(None);
        }
        let interrupted = inner.has_intent(game_id);
        inner.locks.insert(
            game_id.to_string(),
            Expiring::new(token.to_string(), lock_ttl),
        );
        inner.intents.insert(
            game_id.to_string(),
            Expiring::new(token.to_string(), state_ttl),
        );
        Ok(Some(Loaded {
            state: inner.state(game_id, state_ttl),
            interrupted,
        }))
    }

    async fn unlock(&self, game_id: &str, token: &str, release: Release) -> Result<(), HotError> {
        let mut inner = self.inner();
        if live_lock_holder(&inner, game_id) == Some(token) {
            match release {
                Release::Clean => inner.release(game_id),
                Release::Interrupted => {
                    inner.locks.remove(game_id);
                }
            }
        }
        Ok(())
    }

    async fn commit(&self, game_id: &str, commit: Commit<'_>) -> Result<CommitOutcome, HotError> {
        let mut inner = self.inner();
        if live_lock_holder(&inner, game_id) != Some(commit.lock_token) {
            return Ok(CommitOutcome::LockLost);
        }
        let current = inner
            .states
            .get(game_id)
            .filter(|entry| entry.alive())
            .map(|entry| entry.value.version);
        if current != commit.expected_version {
            return Ok(CommitOutcome::VersionChanged);
        }
        inner.set_timer(&Deadline::turn(game_id), commit.turn_deadline_ms)?;
        inner
            .states
            .insert(game_id.to_string(), Expiring::new(commit.new, commit.ttl));
        inner.release(game_id);
        // Delivered while the store's mutex is held, so events leave in commit order.
        let channel = self.keys.game_channel(game_id);
        for event in commit.events {
            self.rooms.deliver(&channel, event);
        }
        Ok(CommitOutcome::Committed)
    }

    async fn publish(&self, channel: &str, event: &str) -> Result<(), HotError> {
        self.rooms.deliver(channel, event);
        Ok(())
    }

    async fn presence_touch(
        &self,
        game_id: &str,
        member: &PresenceMember,
        now_ms: i64,
    ) -> Result<(), HotError> {
        self.inner()
            .presence
            .entry(game_id.to_string())
            .or_default()
            .insert(member.clone(), now_ms);
        Ok(())
    }

    async fn presence_remove(
        &self,
        game_id: &str,
        member: &PresenceMember,
    ) -> Result<(), HotError> {
        let mut inner = self.inner();
        if let Some(members) = inner.presence.get_mut(game_id) {
            members.remove(member);
            if members.is_empty() {
                inner.presence.remove(game_id);
            }
        }
        Ok(())
    }

    async fn presence_members(
        &self,
        game_id: &str,
        since_ms: i64,
    ) -> Result<Vec<PresenceMember>, HotError> {
        Ok(self
            .inner()
            .presence
            .get(game_id)
            .map(|members| {
                members
                    .iter()
                    .filter(|(_, seen)| **seen >= since_ms)
                    .map(|(member, _)| member.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn online_touch(&self, player_id: i64, now_ms: i64) -> Result<(), HotError> {
        self.inner().online.insert(player_id, now_ms);
        Ok(())
    }

    async fn online_count(&self, since_ms: i64) -> Result<u64, HotError> {
        let mut inner = self.inner();
        inner.online.retain(|_, seen| *seen >= since_ms);
        Ok(inner.online.len() as u64)
    }

    async fn rematch_vote(
        &self,
        game_id: &str,
        seat: u8,
        ttl: Duration,
    ) -> Result<(u8, bool), HotError> {
        let mut inner = self.inner();
        let entry = inner
            .rematch_votes
            .entry(game_id.to_string())
            .or_insert_with(|| Expiring::new(HashSet::new(), ttl));
        if !entry.alive() {
            *entry = Expiring::new(HashSet::new(), ttl);
        }
        // Every vote slides the window, as Redis's PEXPIRE does.
        entry.expires = Instant::now() + ttl;
        let added = entry.value.insert(seat);
        let votes = entry.value.len() as u8;
        Ok((votes, added && votes == 2))
    }

    async fn queue_join(&self, player_id: i64, rating: i32, now_ms: i64) -> Result<(), HotError> {
        let mut inner = self.inner();
        let entry = inner.queue.entry(player_id).or_insert(Queued {
            rating,
            joined_ms: now_ms,
            seen_ms: now_ms,
        });
        entry.rating = rating;
        entry.seen_ms = now_ms;
        Ok(())
    }

    async fn queue_try_pair(
        &self,
        player_id: i64,
        now_ms: i64,
        rules: PairingRules,
    ) -> Result<Option<i64>, HotError> {
        let mut inner = self.inner();
        inner
            .queue
            .retain(|_, q| q.seen_ms > now_ms - rules.stale_ms);
        let Some(me) = inner.queue.get(&player_id) else {
            return Ok(None);
        };
        let mine = rules.window(now_ms - me.joined_ms);
        let my_rating = i64::from(me.rating);
        let best = inner
            .queue
            .iter()
            .filter(|(id, _)| **id != player_id)
            .map(|(id, q)| {
                (
                    *id,
                    (i64::from(q.rating) - my_rating).abs(),
                    rules.window(now_ms - q.joined_ms),
                    q.joined_ms,
                )
            })
            .filter(|(_, gap, theirs, _)| *gap <= mine.max(*theirs))
            .min_by_key(|(id, gap, _, joined_ms)| (*gap, *joined_ms, *id))
            .map(|(id, _, _, _)| id);
        if let Some(partner) = best {
            for player in [player_id, partner] {
                inner.queue.remove(&player);
                inner.matches.insert(
                    player,
                    Expiring::new(MatchRecord::Pending { since_ms: now_ms }, PENDING_MATCH_TTL),
                );
            }
        }
        Ok(best)
    }

    async fn queue_leave(&self, player_id: i64) -> Result<bool, HotError> {
        Ok(self.inner().queue.remove(&player_id).is_some())
    }

    async fn queue_size(&self) -> Result<u64, HotError> {
        Ok(self.inner().queue.len() as u64)
    }

    async fn queue_status(
        &self,
        player_id: i64,
        now_ms: i64,
    ) -> Result<(Option<u64>, u64), HotError> {
        let mut inner = self.inner();
        let size = inner.queue.len() as u64;
        let Some(me) = inner.queue.get_mut(&player_id) else {
            return Ok((None, size));
        };
        me.seen_ms = now_ms;
        let joined = (me.joined_ms, player_id);
        let ahead = inner
            .queue
            .iter()
            .filter(|(id, q)| (q.joined_ms, **id) < joined)
            .count() as u64;
        Ok((Some(ahead + 1), size))
    }

    async fn queue_players(&self, limit: usize) -> Result<Vec<i64>, HotError> {
        let inner = self.inner();
        let mut players: Vec<(i64, i64)> = inner
            .queue
            .iter()
            .map(|(id, q)| (q.joined_ms, *id))
            .collect();
        players.sort_unstable();
        Ok(players.into_iter().take(limit).map(|(_, id)| id).collect())
    }

    async fn set_match(
        &self,
        player_id: i64,
        record: &MatchRecord,
        ttl: Duration,
    ) -> Result<(), HotError> {
        self.inner()
            .matches
            .insert(player_id, Expiring::new(record.clone(), ttl));
        Ok(())
    }

    async fn get_match(&self, player_id: i64) -> Result<Option<MatchRecord>, HotError> {
        Ok(self
            .inner()
            .matches
            .get(&player_id)
            .filter(|m| m.alive())
            .map(|m| m.value.clone()))
    }

    async fn clear_match(&self, player_id: i64) -> Result<(), HotError> {
        self.inner().matches.remove(&player_id);
        Ok(())
    }

    async fn schedule(&self, deadline: &Deadline, due_ms: i64) -> Result<(), HotError> {
        self.inner().set_timer(deadline, Some(due_ms))
    }

    async fn unschedule(&self, deadline: &Deadline) -> Result<(), HotError> {
        self.inner().set_timer(deadline, None)
    }

    async fn due(
        &self,
        timer: Timer,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<Deadline>, HotError> {
        let inner = self.inner();
        let mut due: Vec<(i64, String)> = inner
            .timers
            .get(&timer)
            .map(|members| {
                members
                    .iter()
                    .filter(|(_, at)| **at <= now_ms)
                    .map(|(member, at)| (*at, member.clone()))
                    .collect()
            })
            .unwrap_or_default();
        due.sort_unstable();
        Ok(due
            .into_iter()
            .take(limit)
            .filter_map(|(_, member)| Deadline::decode(timer, &member))
            .collect())
    }

    async fn clocks_armed(&self) -> Result<bool, HotError> {
        Ok(self.inner().clocks_armed)
    }

    async fn mark_clocks_armed(&self) -> Result<(), HotError> {
        self.inner().clocks_armed = true;
        Ok(())
    }

    async fn count_attempt(
        &self,
        key: &str,
        window: Duration,
    ) -> Result<(u64, Duration), HotError> {
        let mut inner = self.inner();
        if inner.attempts.len() >= ATTEMPT_COUNTERS_SWEEP {
            inner.attempts.retain(|_, counter| counter.alive());
        }
        let counter = inner
            .attempts
            .entry(key.to_string())
            .or_insert_with(|| Expiring::new(0, window));
        if !counter.alive() {
            *counter = Expiring::new(0, window);
        }
        counter.value += 1;
        let left = counter.expires.saturating_duration_since(Instant::now());
        Ok((counter.value, left))
    }

    async fn clear_attempts(&self, key: &str) -> Result<(), HotError> {
        self.inner().attempts.remove(key);
        Ok(())
    }

    async fn ping(&self) -> Result<(), HotError> {
        Ok(())
    }
}
