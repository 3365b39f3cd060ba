//! Redis Pub/Sub fan-out. One task per instance owns the Pub/Sub connection: it
//! subscribes a channel when its room is created, unsubscribes when the
//! room empties (both requests go through one queue, so they apply in order), forwards
//! every message to the room, and after a lost connection reconnects, resubscribes every
//! room and tells all local sockets to resync. Channels are subscribed one by one,
//! never by pattern, so an instance only receives the games it serves.

use std::{sync::Arc, time::Duration};

use redis::{
    cluster::ClusterClientBuilder, cluster_async::ClusterConnection, ProtocolVersion, PushInfo,
    PushKind,
};

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};

use super::{Fanout, FanoutError, Rooms, Subscription};

/// How long a socket waits for its game's channel to be subscribed before going on
/// (the subscription is then completed at the next reconnect, followed by a resync).
const SUBSCRIBE_WAIT: Duration = Duration::from_secs(3);

enum Control {
    Subscribe(String, oneshot::Sender<()>),
    Unsubscribe(String),
}

/// Fan-out across instances through one Redis Pub/Sub channel per game.
pub struct RedisFanout {
    rooms: Arc<Rooms>,
    control: mpsc::UnboundedSender<Control>,
}

impl RedisFanout {
    /// Starts the subscriber task. It runs until the process ends.
    pub fn start(client: redis::Client) -> RedisFanout {
        Self::with_task(|rooms, control| subscriber(client, rooms, control))
    }

    /// Starts the sharded fan-out for Redis Cluster: `SSUBSCRIBE` through a slot-aware
    /// RESP3 connection, so each game's broadcasts stay on the shard that owns its slot
    /// (publishers use `SPUBLISH`). The client re-subscribes after topology changes; a
    /// dropped node connection tells every local socket to resync.
    pub async fn start_sharded(seeds: &[String]) -> redis::RedisResult<RedisFanout> {
        let (pushes, push_rx) = mpsc::unbounded_channel::<PushInfo>();
        let client =
            ClusterClientBuilder::new(seeds.iter().map(String::as_str).collect::<Vec<_>>())
                .use_protocol(ProtocolVersion::RESP3)
                .push_sender(pushes)
                .build()?;
        let connection = client.get_async_connection().await?;
        Ok(Self::with_task(|rooms, control| {
            sharded_subscriber(connection, rooms, push_rx, control)
        }))
    }

    /// The rooms and the control queue shared by both kinds of subscriber task.
    fn with_task<F, T>(spawn: F) -> RedisFanout
    where
        F: FnOnce(Arc<Rooms>, mpsc::UnboundedReceiver<Control>) -> T,
        T: std::future::Future<Output = ()> + Send + 'static,
    {
        let (control, control_rx) = mpsc::unbounded_channel();
        let (empty_tx, mut empty_rx) = mpsc::unbounded_channel::<String>();
        let rooms = Arc::new(Rooms::with_empty_notifier(empty_tx));
        let unsubscribe = control.clone();
        tokio::spawn(async move {
            while let Some(channel) = empty_rx.recv().await {
                if unsubscribe.send(Control::Unsubscribe(channel)).is_err() {
                    break;
                }
            }
        });
        tokio::spawn(spawn(Arc::clone(&rooms), control_rx));
        RedisFanout { rooms, control }
    }
}

async fn sharded_subscriber(
    mut connection: ClusterConnection,
    rooms: Arc<Rooms>,
    mut pushes: mpsc::UnboundedReceiver<PushInfo>,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    loop {
        tokio::select! {
            push = pushes.recv() => {
                let Some(push) = push else { return };
                match push.kind {
                    PushKind::SMessage => {
                        let mut data = push.data.into_iter();
                        let channel = data.next().and_then(|v| redis::from_redis_value::<String>(v).ok());
                        let payload = data.next().and_then(|v| redis::from_redis_value::<String>(v).ok());
                        if let (Some(channel), Some(payload)) = (channel, payload) {
                            rooms.deliver(&channel, payload);
                        }
                    }
                    PushKind::Disconnection => {
                        crate::telemetry::count_store_error(crate::telemetry::Store::Redis);
                        tracing::warn!("a cluster node connection dropped; resyncing local sockets");
                        rooms.resync_all();
                    }
                    _ => {}
                }
            }
            request = control.recv() => match request {
                None => return,
                Some(Control::Subscribe(channel, done)) => {
                    if let Err(err) = connection.ssubscribe(&channel).await {
                        tracing::warn!(error = %err, channel, "ssubscribe failed");
                    }
                    let _ = done.send(());
                }
                Some(Control::Unsubscribe(channel)) => {
                    if !rooms.has_members(&channel) {
                        if let Err(err) = connection.sunsubscribe(&channel).await {
                            tracing::warn!(error = %err, channel, "sunsubscribe failed");
                        }
                    }
                }
            },
        }
    }
}

#[async_trait]
impl Fanout for RedisFanout {
    async fn subscribe(&self, channel: &str) -> Result<Subscription, FanoutError> {
        let (subscription, created) = self.rooms.join(channel);
        if created {
            let (done, subscribed) = oneshot::channel();
            self.control
                .send(Control::Subscribe(channel.to_string(), done))
                .map_err(|_| FanoutError::Subscribe("the subscriber task has stopped".into()))?;
            if tokio::time::timeout(SUBSCRIBE_WAIT, subscribed)
                .await
                .is_err()
            {
                tracing::warn!(channel, "channel subscription is slow; continuing");
            }
        }
        Ok(subscription)
    }
}

async fn subscriber(
    client: redis::Client,
    rooms: Arc<Rooms>,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    let mut reconnecting = false;
    let mut backoff = Duration::from_millis(100);
    loop {
        let pubsub = match client.get_async_pubsub().await {
            Ok(pubsub) => pubsub,
            Err(err) => {
                crate::telemetry::count_store_error(crate::telemetry::Store::Redis);
                tracing::warn!(error = %err, "pub/sub connection failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        let (mut sink, stream) = pubsub.split();
        if resubscribe(&mut sink, &rooms).await {
            backoff = Duration::from_millis(100);
            if reconnecting {
                tracing::info!("pub/sub reconnected; resyncing local sockets");
                rooms.resync_all();
            }
            if let Session::Stopped = relay(&mut sink, stream, &rooms, &mut control).await {
                return;
            }
        }
        crate::telemetry::count_store_error(crate::telemetry::Store::Redis);
        tracing::warn!("pub/sub connection lost; reconnecting");
        reconnecting = true;
        tokio::time::sleep(backoff).await;
    }
}

/// How one Pub/Sub connection's session ended.
enum Session {
    /// The connection failed; reconnect.
    Lost,
    /// The instance is shutting down (the control channel closed).
    Stopped,
}

/// Subscribes a new connection to every channel a local socket listens on.
async fn resubscribe(sink: &mut redis::aio::PubSubSink, rooms: &Rooms) -> bool {
    for channel in rooms.channels() {
        if let Err(err) = sink.subscribe(&channel).await {
            tracing::warn!(error = %err, "resubscribing failed");
            return false;
        }
    }
    true
}

/// Delivers broadcasts to the local rooms and carries out (un)subscriptions until the
/// connection fails or the instance stops.
async fn relay(
    sink: &mut redis::aio::PubSubSink,
    mut stream: redis::aio::PubSubStream,
    rooms: &Rooms,
    control: &mut mpsc::UnboundedReceiver<Control>,
) -> Session {
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else { return Session::Lost };
                let channel = message.get_channel_name();
                match message.get_payload::<String>() {
                    Ok(payload) => rooms.deliver(channel, payload),
                    Err(err) => tracing::warn!(error = %err, channel, "undecodable broadcast"),
                }
            }
            request = control.recv() => match request {
                None => return Session::Stopped,
                Some(Control::Subscribe(channel, done)) => {
                    let subscribed = sink.subscribe(&channel).await;
                    let _ = done.send(());
                    if let Err(err) = subscribed {
                        tracing::warn!(error = %err, channel, "subscribe failed");
                        return Session::Lost;
                    }
                }
                Some(Control::Unsubscribe(channel)) => {
                    if !rooms.has_members(&channel) {
                        if let Err(err) = sink.unsubscribe(&channel).await {
                            tracing::warn!(error = %err, channel, "unsubscribe failed");
                            return Session::Lost;
                        }
                    }
                }
            },
        }
    }
}
