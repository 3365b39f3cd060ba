//! Fan-out of events to the sockets of this instance. Each instance keeps one [`Rooms`]
//! registry: a `tokio::sync::broadcast` channel per channel name (a game's channel, or
//! a player's lobby channel) that has local sockets, reference-counted by those
//! sockets. A [`Fanout`] feeds the rooms: [`RedisFanout`] holds one Pub/Sub
//! subscription per channel with local sockets (taken by the first socket, dropped
//! with the last) and delivers every message published on it by any instance, this one
//! included; [`LocalFanout`] serves the embedded mode, where the hot store delivers
//! straight into the rooms. Channel names come from [`crate::hot::Keys`].
//!
//! Pub/Sub is fire-and-forget, so whenever delivery may have skipped events (Redis
//! reconnect, a socket too slow for its room) the socket is told to resync
//! ([`RoomEvent::Resync`]) and sends the client the full state.
//!
//! Memory: every room buffers [`ROOM_CAPACITY`] events, allocated when it opens, and a
//! lobby socket has a room of its own (its player's channel), so the capacity is kept
//! to what a socket can fall behind in practice; one falling further resyncs. An event
//! is one shared allocation, stamped with its arrival so sockets can report how long
//! the local fan-out took ([`Broadcast::arrived`]).

mod redis;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Instant,
};

use async_trait::async_trait;
use tokio::sync::{broadcast, mpsc};

pub use self::redis::RedisFanout;

/// Events buffered per room before a slow socket is told to resync. A move makes one
/// or two events (its `move`, and `game_over` if it ends the game); a socket 32 events
/// behind is stuck, not slow.
const ROOM_CAPACITY: usize = 32;

/// A serialized broadcast as it reached this instance, shared by its local sockets.
#[derive(Debug)]
pub struct Broadcast {
    pub text: Box<str>,
    /// When the room received it (from Redis, or the embedded store's commit).
    pub arrived: Instant,
}

/// What a local socket receives from its room.
#[derive(Clone, Debug)]
pub enum RoomEvent {
    /// A broadcast, forwarded as is.
    Event(Arc<Broadcast>),
    /// Events may have been lost: send the full state.
    Resync,
}

#[derive(Debug, thiserror::Error)]
pub enum FanoutError {
    #[error("subscription failed: {0}")]
    Subscribe(String),
}

/// A socket's membership of a game's room. Dropping it leaves the room.
pub struct Subscription {
    pub events: broadcast::Receiver<RoomEvent>,
    _membership: Membership,
}

impl Subscription {
    /// The next event, skipping resync markers (for listeners that keep no state);
    /// `None` once the room is gone.
    pub async fn recv(&mut self) -> Option<Arc<Broadcast>> {
        loop {
            match self.events.recv().await {
                Ok(RoomEvent::Event(event)) => return Some(event),
                Ok(RoomEvent::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// Feeds local rooms with the events of every instance.
#[async_trait]
pub trait Fanout: Send + Sync {
    /// Joins a channel's room; returns once events published from now on will arrive.
    async fn subscribe(&self, channel: &str) -> Result<Subscription, FanoutError>;
}

struct Room {
    sender: broadcast::Sender<RoomEvent>,
    members: usize,
}

/// The rooms of this instance, keyed by channel name.
#[derive(Default)]
pub struct Rooms {
    rooms: Mutex<HashMap<String, Room>>,
    /// Told the channel when a room empties (the Redis fan-out unsubscribes).
    on_empty: Option<mpsc::UnboundedSender<String>>,
}

impl Rooms {
    fn with_empty_notifier(on_empty: mpsc::UnboundedSender<String>) -> Rooms {
        Rooms {
            rooms: Mutex::default(),
            on_empty: Some(on_empty),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Room>> {
        // A panic while holding this lock can only come from a bug in this file; the map
        // itself stays consistent, so keep serving.
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Joins a room; the flag is true for the first member (the room was created).
    fn join(self: &Arc<Self>, channel: &str) -> (Subscription, bool) {
        let mut rooms = self.lock();
        let room = rooms.entry(channel.to_string()).or_insert_with(|| Room {
            sender: broadcast::channel(ROOM_CAPACITY).0,
            members: 0,
        });
        room.members += 1;
        let subscription = Subscription {
            events: room.sender.subscribe(),
            _membership: Membership {
                rooms: Arc::clone(self),
                channel: channel.to_string(),
            },
        };
        (subscription, room.members == 1)
    }

    fn leave(&self, channel: &str) {
        let mut rooms = self.lock();
        let Some(room) = rooms.get_mut(channel) else {
            return;
        };
        room.members -= 1;
        if room.members == 0 {
            rooms.remove(channel);
            if let Some(on_empty) = &self.on_empty {
                // The receiver lives as long as the fan-out task; if it is gone there is nothing to unsubscribe.
                let _ = on_empty.send(channel.to_string());
            }
        }
    }

    /// Delivers an event to the local sockets of a channel (none: nothing to do).
    pub fn deliver(&self, channel: &str, text: impl Into<Box<str>>) {
        if let Some(room) = self.lock().get(channel) {
            let event = Broadcast {
                text: text.into(),
                arrived: Instant::now(),
            };
            // An error only means no receiver is left, which `leave` is about to clean up.
            let _ = room.sender.send(RoomEvent::Event(Arc::new(event)));
        }
    }

    /// Tells every local socket to resync.
    fn resync_all(&self) {
        for room in self.lock().values() {
            let _ = room.sender.send(RoomEvent::Resync);
        }
    }

    fn has_members(&self, channel: &str) -> bool {
        self.lock().contains_key(channel)
    }

    /// Channels with local sockets.
    fn channels(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }
}

struct Membership {
    rooms: Arc<Rooms>,
    channel: String,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.rooms.leave(&self.channel);
    }
}

/// The embedded mode's fan-out: the memory hot store delivers into these rooms directly.
pub struct LocalFanout {
    rooms: Arc<Rooms>,
}

impl LocalFanout {
    pub fn new(rooms: Arc<Rooms>) -> LocalFanout {
        LocalFanout { rooms }
    }
}

#[async_trait]
impl Fanout for LocalFanout {
    async fn subscribe(&self, channel: &str) -> Result<Subscription, FanoutError> {
        Ok(self.rooms.join(channel).0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_member_gets_each_event_once() {
        let rooms = Arc::new(Rooms::default());
        let fanout = LocalFanout::new(Arc::clone(&rooms));
        let mut a = fanout.subscribe("g").await.expect("subscribe");
        let mut b = fanout.subscribe("g").await.expect("subscribe");
        rooms.deliver("g", "one");
        rooms.deliver("other", "not for g");
        for sub in [&mut a, &mut b] {
            match sub.events.recv().await.expect("event") {
                RoomEvent::Event(event) => assert_eq!(&*event.text, "one"),
                RoomEvent::Resync => panic!("unexpected resync"),
            }
            assert!(sub.events.try_recv().is_err(), "exactly once");
        }
    }

    #[tokio::test]
    async fn the_last_member_leaving_empties_the_room() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let rooms = Arc::new(Rooms::with_empty_notifier(tx));
        let (first, created) = rooms.join("g");
        assert!(created);
        let (second, created_again) = rooms.join("g");
        assert!(!created_again);
        drop(first);
        assert!(rooms.has_members("g"));
        assert!(rx.try_recv().is_err());
        drop(second);
        assert!(!rooms.has_members("g"));
        assert_eq!(rx.recv().await.as_deref(), Some("g"));
    }
}
