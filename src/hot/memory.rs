//! The embedded mode's hot store: the same contract as Redis, kept in this process
//! behind one mutex (every operation is a few map look-ups). Expiry is checked on
//! access. Commits deliver their event straight into the local rooms.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use async_trait::async_trait;

use super::{Commit, CommitOutcome, HotError, HotStore, Versioned};
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
    presence: HashMap<String, HashMap<String, i64>>,
    online: HashMap<i64, i64>,
    rematch_votes: HashMap<String, Expiring<HashSet<u8>>>,
}

/// Hot state of a single embedded instance.
pub struct MemoryHotStore {
    inner: Mutex<Inner>,
    rooms: Arc<Rooms>,
}

impl MemoryHotStore {
    pub fn new(rooms: Arc<Rooms>) -> MemoryHotStore {
        MemoryHotStore {
            inner: Mutex::default(),
            rooms,
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
    async fn load(&self, game_id: &str, ttl: Duration) -> Result<Option<Versioned>, HotError> {
        let mut inner = self.inner();
        match inner.states.get_mut(game_id) {
            Some(entry) if entry.alive() => {
                entry.expires = Instant::now() + ttl;
                Ok(Some(entry.value.clone()))
            }
            Some(_) => {
                inner.states.remove(game_id);
                Ok(None)
            }
            None => Ok(None),
        }
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

    async fn try_lock(&self, game_id: &str, token: &str, ttl: Duration) -> Result<bool, HotError> {
        let mut inner = self.inner();
        if live_lock_holder(&inner, game_id).is_some() {
            return Ok(false);
        }
        inner
            .locks
            .insert(game_id.to_string(), Expiring::new(token.to_string(), ttl));
        Ok(true)
    }

    async fn unlock(&self, game_id: &str, token: &str) -> Result<(), HotError> {
        let mut inner = self.inner();
        if live_lock_holder(&inner, game_id) == Some(token) {
            inner.locks.remove(game_id);
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
        if current != Some(commit.expected_version) {
            return Ok(CommitOutcome::VersionChanged);
        }
        inner
            .states
            .insert(game_id.to_string(), Expiring::new(commit.new, commit.ttl));
        inner.locks.remove(game_id);
        // Delivered while the store's mutex is held, so events leave in commit order.
        for event in commit.events {
            self.rooms.deliver(game_id, Arc::from(event));
        }
        Ok(CommitOutcome::Committed)
    }

    async fn publish(&self, game_id: &str, event: &str) -> Result<(), HotError> {
        self.rooms.deliver(game_id, Arc::from(event));
        Ok(())
    }

    async fn presence_touch(
        &self,
        game_id: &str,
        member: &str,
        now_ms: i64,
    ) -> Result<(), HotError> {
        self.inner()
            .presence
            .entry(game_id.to_string())
            .or_default()
            .insert(member.to_string(), now_ms);
        Ok(())
    }

    async fn presence_remove(&self, game_id: &str, member: &str) -> Result<(), HotError> {
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
    ) -> Result<Vec<String>, HotError> {
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
        let added = entry.value.insert(seat);
        let votes = entry.value.len() as u8;
        Ok((votes, added && votes == 2))
    }

    async fn ping(&self) -> Result<(), HotError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> MemoryHotStore {
        MemoryHotStore::new(Arc::new(Rooms::default()))
    }

    const TTL: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn a_lock_is_released_only_by_its_holder() {
        let hot = store();
        assert!(hot.try_lock("g", "a", TTL).await.unwrap());
        assert!(!hot.try_lock("g", "b", TTL).await.unwrap());
        hot.unlock("g", "b").await.unwrap();
        assert!(
            !hot.try_lock("g", "b", TTL).await.unwrap(),
            "b must not release a's lock"
        );
        hot.unlock("g", "a").await.unwrap();
        assert!(hot.try_lock("g", "b", TTL).await.unwrap());
    }

    #[tokio::test]
    async fn an_expired_lock_can_be_taken() {
        let hot = store();
        assert!(hot
            .try_lock("g", "a", Duration::from_millis(5))
            .await
            .unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(hot.try_lock("g", "b", TTL).await.unwrap());
    }

    #[tokio::test]
    async fn commit_needs_the_lock_and_the_version_read() {
        let hot = store();
        let v0 = Versioned {
            version: 0,
            state: "zero".into(),
        };
        assert!(hot.create("g", &v0, TTL).await.unwrap());
        assert!(
            !hot.create("g", &v0, TTL).await.unwrap(),
            "create never overwrites"
        );
        let commit = |token: &'static str, expected| Commit {
            lock_token: token,
            expected_version: expected,
            new: Versioned {
                version: expected + 1,
                state: "next".into(),
            },
            events: Vec::new(),
            ttl: TTL,
        };
        assert_eq!(
            hot.commit("g", commit("a", 0)).await.unwrap(),
            CommitOutcome::LockLost
        );
        assert!(hot.try_lock("g", "a", TTL).await.unwrap());
        assert_eq!(
            hot.commit("g", commit("a", 5)).await.unwrap(),
            CommitOutcome::VersionChanged
        );
        assert_eq!(
            hot.commit("g", commit("a", 0)).await.unwrap(),
            CommitOutcome::Committed
        );
        assert_eq!(
            hot.load("g", TTL).await.unwrap().map(|v| v.version),
            Some(1)
        );
        assert!(
            hot.try_lock("g", "b", TTL).await.unwrap(),
            "commit released the lock"
        );
    }

    #[tokio::test]
    async fn exactly_one_vote_completes_a_rematch() {
        let hot = store();
        assert_eq!(hot.rematch_vote("g", 1, TTL).await.unwrap(), (1, false));
        assert_eq!(hot.rematch_vote("g", 1, TTL).await.unwrap(), (1, false));
        assert_eq!(hot.rematch_vote("g", 2, TTL).await.unwrap(), (2, true));
        assert_eq!(hot.rematch_vote("g", 2, TTL).await.unwrap(), (2, false));
    }
}
