//! The append-only audit log. Each instance appends JSON lines to its own file,
//! `<AUDIT_DIR>/events-<instance>.jsonl`, so instances never interleave writes.
//!
//! Invariants:
//! - recording never drops an event silently: the queue is bounded and a full queue makes
//!   the caller wait (back-pressure) rather than lose the event; a writer failure is
//!   logged with the event and counted;
//! - lines are chained: each carries `prev`, the `hash` of the line before it in the same
//!   file, and its own `hash` (SHA-256 of the line without that field), so
//!   [`verify`] finds any line that was altered, removed or reordered;
//! - [`AuditLog::close`] writes everything queued and syncs the file (graceful shutdown).

mod verify;

use std::{
    io::{self, SeekFrom},
    path::{Path, PathBuf},
    sync::{atomic::Ordering::Relaxed, Arc},
};

use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::{
    fs::{File, OpenOptions},
    io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufWriter},
    sync::{mpsc, oneshot, Mutex},
};

pub use verify::{verify_files, FileReport, Problem};

use crate::telemetry::Metrics;

/// `prev` of the first line of a file.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const QUEUE: usize = 65_536;
const BATCH: usize = 1024;

/// One event to record.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEvent {
    pub event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub game_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub player_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
}

impl AuditEvent {
    pub fn new(event: &'static str) -> AuditEvent {
        AuditEvent {
            event,
            game_id: None,
            player_id: None,
            seq: None,
            data: serde_json::Value::Null,
        }
    }

    pub fn game(mut self, game_id: &str) -> Self {
        self.game_id = Some(game_id.to_string());
        self
    }

    pub fn player(mut self, player_id: i64) -> Self {
        self.player_id = Some(player_id);
        self
    }

    pub fn seq(mut self, seq: u64) -> Self {
        self.seq = Some(seq);
        self
    }

    pub fn data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}

#[derive(Serialize)]
struct Line<'a> {
    ts: String,
    instance: &'a str,
    #[serde(flatten)]
    event: &'a AuditEvent,
    prev: &'a str,
}

/// Writer handle; cheap to share.
pub struct AuditLog {
    queue: mpsc::Sender<AuditEvent>,
    stop: Mutex<Option<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)>>,
    path: PathBuf,
}

impl AuditLog {
    /// Opens (or continues) this instance's file and starts its writer task.
    pub async fn open(dir: &Path, instance: &str, metrics: Arc<Metrics>) -> io::Result<AuditLog> {
        tokio::fs::create_dir_all(dir).await?;
        let path = dir.join(format!("events-{instance}.jsonl"));
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .await?;
        let prev = last_hash(&mut file).await?;
        let (queue, events) = mpsc::channel(QUEUE);
        let (stop_tx, stop_rx) = oneshot::channel();
        let writer = Writer {
            file: BufWriter::new(file),
            instance: instance.to_string(),
            prev,
            metrics,
            path: path.clone(),
        };
        let handle = tokio::spawn(writer.run(events, stop_rx));
        Ok(AuditLog {
            queue,
            stop: Mutex::new(Some((stop_tx, handle))),
            path,
        })
    }

    /// Queues an event. Waits only if the writer is far behind; never drops the event
    /// without logging it.
    pub async fn record(&self, event: AuditEvent) {
        if let Err(mpsc::error::SendError(event)) = self.queue.send(event).await {
            tracing::error!(?event, "audit log is closed; event not written");
        }
    }

    /// The file this instance appends to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes everything queued, syncs the file and stops the writer.
    pub async fn close(&self) {
        if let Some((stop, handle)) = self.stop.lock().await.take() {
            let _ = stop.send(());
            if let Err(err) = handle.await {
                tracing::error!(error = %err, "audit writer task failed");
            }
        }
    }
}

struct Writer {
    file: BufWriter<File>,
    instance: String,
    prev: String,
    metrics: Arc<Metrics>,
    path: PathBuf,
}

impl Writer {
    async fn run(
        mut self,
        mut events: mpsc::Receiver<AuditEvent>,
        mut stop: oneshot::Receiver<()>,
    ) {
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            tokio::select! {
                received = events.recv_many(&mut batch, BATCH) => {
                    if received == 0 {
                        break;
                    }
                    self.write(&mut batch).await;
                }
                _ = &mut stop => {
                    events.close();
                    while events.recv_many(&mut batch, BATCH).await > 0 {
                        self.write(&mut batch).await;
                    }
                    break;
                }
            }
        }
        if let Err(err) = self.file.flush().await {
            tracing::error!(error = %err, path = %self.path.display(), "audit flush failed");
        }
        if let Err(err) = self.file.get_ref().sync_all().await {
            tracing::error!(error = %err, path = %self.path.display(), "audit sync failed");
        }
    }

    async fn write(&mut self, batch: &mut Vec<AuditEvent>) {
        let mut written = 0;
        for event in batch.drain(..) {
            let line = chain_line(&self.instance, &event, &self.prev);
            match self.file.write_all(line.text.as_bytes()).await {
                Ok(()) => {
                    self.prev = line.hash;
                    written += 1;
                }
                Err(err) => {
                    tracing::error!(error = %err, ?event, "audit write failed; event not written");
                }
            }
        }
        if let Err(err) = self.file.flush().await {
            tracing::error!(error = %err, path = %self.path.display(), "audit flush failed");
        }
        self.metrics.audit_lines_written.fetch_add(written, Relaxed);
    }
}

struct ChainedLine {
    text: String,
    hash: String,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Serializes an event as one line: the body with `prev`, then its own `hash`.
fn chain_line(instance: &str, event: &AuditEvent, prev: &str) -> ChainedLine {
    let line = Line {
        ts: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        instance,
        event,
        prev,
    };
    let body = serde_json::to_string(&line).unwrap_or_else(|err| {
        // Only a non-string map key could fail here, and events have none.
        format!(
            "{{\"event\":\"unserializable\",\"error\":{:?},\"prev\":\"{prev}\"}}",
            err.to_string()
        )
    });
    let hash = sha256_hex(body.as_bytes());
    let text = format!("{},\"hash\":\"{hash}\"}}\n", &body[..body.len() - 1]);
    ChainedLine { text, hash }
}

/// The `hash` of a file's last line (or [`GENESIS`] for an empty file).
async fn last_hash(file: &mut File) -> io::Result<String> {
    let len = file.metadata().await?.len();
    if len == 0 {
        return Ok(GENESIS.to_string());
    }
    let start = len.saturating_sub(64 * 1024);
    file.seek(SeekFrom::Start(start)).await?;
    let mut tail = String::new();
    file.read_to_string(&mut tail).await?;
    let last = tail
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("");
    Ok(verify::split_hash(last)
        .map(|(_, hash)| hash.to_string())
        .unwrap_or_else(|| sha256_hex(last.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_chain_and_survive_a_restart() {
        let dir = std::env::temp_dir().join(format!("c4-audit-{}", uuid::Uuid::new_v4()));
        let metrics = Arc::new(Metrics::default());
        for round in 0..2 {
            let log = AuditLog::open(&dir, "i1", Arc::clone(&metrics))
                .await
                .expect("open");
            for n in 0..3 {
                log.record(AuditEvent::new("move").game("g").seq(round * 3 + n))
                    .await;
            }
            log.close().await;
        }
        let path = dir.join("events-i1.jsonl");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 6);
        let report = verify_files(&[path]).expect("verify");
        assert!(report[0].problems.is_empty(), "{:?}", report[0].problems);
        assert_eq!(metrics.audit_lines_written.load(Relaxed), 6);
        let _ = std::fs::remove_dir_all(dir);
    }
}
