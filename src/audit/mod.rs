//! The append-only audit log. Each instance appends JSON lines to its own file,
//! `<AUDIT_DIR>/events-<instance>.jsonl`, so instances never interleave writes.
//!
//! Invariants:
//! - recording never drops an event silently: the queue is bounded and a full queue makes
//!   the caller wait (back-pressure) rather than lose the event; a writer failure is
//!   logged with the event and counted;
//! - lines are chained: each carries `prev`, the `hash` of the line before it in the same
//!   file, and its own `hash` (SHA-256 of the line without that field), so
//!   [`verify_files`] finds any line that was altered, removed or reordered;
//! - [`AuditLog::record_written`] resolves only once its line has been handed to the
//!   operating system (the writer's buffer flushed with `write(2)`), so the line survives
//!   a `kill -9` of the process from then on; callers that wait share one flush per batch;
//! - the chain is anchored outside the file: with [`AuditLog::start_anchoring`] the
//!   instance records its chain head (line count and last hash, synced to disk first) in
//!   the database at start, every `AUDIT_ANCHOR_SECONDS` while lines are added, and at
//!   shutdown, so [`verify_against`] also finds a cut-off tail, a rewritten chain and
//!   lines appended after a clean shutdown, and cross-checks the moves table;
//! - [`AuditLog::close`] writes everything queued, syncs the file and records the final
//!   anchor (graceful shutdown).

mod verify;

use std::{
    io::{self, SeekFrom, Write},
    path::{Path, PathBuf},
    sync::{atomic::Ordering::Relaxed, Arc},
    time::Duration,
};

use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::{
    fs::{File, OpenOptions},
    io::{AsyncBufReadExt, AsyncSeekExt, AsyncWriteExt, BufReader},
    sync::{mpsc, oneshot, Mutex},
    task::JoinHandle,
};

pub use verify::{
    verify_against, verify_chains, verify_files, FileReport, FileSummary, Finding, Place, Problem,
    Report, VerifyError,
};

use crate::{
    cold::{AnchorReason, Cold, ColdError, NewAnchor},
    telemetry::Metrics,
};

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

/// Why [`AuditLog::record_written`] could not confirm its line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error("the audit log is closed")]
    Closed,
    #[error("audit write failed: {0}")]
    Write(String),
}

/// Where a file's chain stands.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ChainHead {
    /// Lines in the file.
    lines: u64,
    /// Hash of the first line, which names the chain; `None` while the file is empty.
    chain: Option<String>,
    /// Hash of the last line ([`GENESIS`] while the file is empty).
    last: String,
}

impl ChainHead {
    fn empty() -> ChainHead {
        ChainHead {
            lines: 0,
            chain: None,
            last: GENESIS.to_string(),
        }
    }

    fn advance(&mut self, hash: String) {
        self.lines += 1;
        if self.chain.is_none() {
            self.chain = Some(hash.clone());
        }
        self.last = hash;
    }
}

type Ack<T> = oneshot::Sender<Result<T, AuditError>>;

/// What the writer task is asked to do, in queue order.
enum Queued {
    /// Append a line; `written` (if any) is told once the line reached the file.
    Event {
        event: AuditEvent,
        written: Option<Ack<()>>,
    },
    /// Flush and sync everything queued before, then report the chain head.
    Head(Ack<ChainHead>),
}

/// Writer handle; cheap to share.
pub struct AuditLog {
    queue: mpsc::Sender<Queued>,
    writer: Mutex<Option<WriterTask>>,
    anchoring: Mutex<Option<Anchoring>>,
    path: PathBuf,
    instance: String,
}

/// The running writer: how to stop it, and the head it ends with (synced).
struct WriterTask {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Option<ChainHead>>,
}

/// The running anchor task and where it records.
struct Anchoring {
    anchors: Anchors,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Records this instance's chain heads in the database.
#[derive(Clone)]
struct Anchors {
    cold: Cold,
    instance: String,
    file: String,
}

impl Anchors {
    /// Records `head`; `Ok(false)` when the file is still empty (nothing to anchor).
    async fn record(&self, head: &ChainHead, reason: AnchorReason) -> Result<bool, ColdError> {
        let Some(chain) = head.chain.as_deref() else {
            return Ok(false);
        };
        self.cold
            .record_audit_anchor(NewAnchor {
                instance: &self.instance,
                file: &self.file,
                chain,
                lines: head.lines,
                hash: &head.last,
                reason,
                now: chrono::Utc::now(),
            })
            .await?;
        Ok(true)
    }

    /// Records a new anchor every `every` while the file grows, until `stop` fires.
    async fn run(
        self,
        queue: mpsc::Sender<Queued>,
        mut anchored: Option<u64>,
        every: Duration,
        mut stop: oneshot::Receiver<()>,
    ) {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stop => return,
            }
            let head = match request_head(&queue).await {
                Ok(head) => head,
                Err(err) => {
                    tracing::warn!(error = %err, "audit chain head unavailable; anchoring next tick");
                    continue;
                }
            };
            if anchored == Some(head.lines) {
                continue;
            }
            let reason = if anchored.is_none() {
                AnchorReason::Start
            } else {
                AnchorReason::Periodic
            };
            match self.record(&head, reason).await {
                Ok(true) => anchored = Some(head.lines),
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "audit anchor not recorded; retrying next tick")
                }
            }
        }
    }
}

async fn request_head(queue: &mpsc::Sender<Queued>) -> Result<ChainHead, AuditError> {
    let (reply, head) = oneshot::channel();
    queue
        .send(Queued::Head(reply))
        .await
        .map_err(|_| AuditError::Closed)?;
    head.await.unwrap_or(Err(AuditError::Closed))
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
        let (head, complete) = scan(&mut file).await?;
        if !complete {
            // A line cut short (a full disk): end it, so it stays a line of its own
            // (which verify names) instead of swallowing the next one.
            file.write_all(b"\n").await?;
            file.flush().await?;
        }
        let (queue, events) = mpsc::channel(QUEUE);
        let (stop_tx, stop_rx) = oneshot::channel();
        let writer = Writer {
            file: Arc::new(file.into_std().await),
            pending: Vec::new(),
            on_file: head.clone(),
            instance: instance.to_string(),
            head,
            metrics,
            path: path.clone(),
        };
        let handle = tokio::spawn(writer.run(events, stop_rx));
        Ok(AuditLog {
            queue,
            writer: Mutex::new(Some(WriterTask {
                stop: stop_tx,
                task: handle,
            })),
            anchoring: Mutex::new(None),
            path,
            instance: instance.to_string(),
        })
    }

    /// Queues an event. Waits only if the writer is far behind; never drops the event
    /// without logging it.
    pub async fn record(&self, event: AuditEvent) {
        self.enqueue(event, None).await;
    }

    /// Queues an event and resolves once its line is in the file (handed to the
    /// operating system: it survives a crash of this process, not of the machine).
    /// Concurrent callers share one flush. `Err` if the log is closed or the write failed;
    /// the failure is logged with the event either way.
    pub async fn record_written(&self, event: AuditEvent) -> Result<(), AuditError> {
        self.record_all_written([event]).await
    }

    /// [`AuditLog::record_written`] for several events, written in this order; resolves
    /// once every line is in the file (usually after one shared flush). `Err` names the
    /// first failure; the other lines may still have been written.
    pub async fn record_all_written(
        &self,
        events: impl IntoIterator<Item = AuditEvent>,
    ) -> Result<(), AuditError> {
        let mut acks = Vec::new();
        for event in events {
            let (ack, written) = oneshot::channel();
            if !self.enqueue(event, Some(ack)).await {
                return Err(AuditError::Closed);
            }
            acks.push(written);
        }
        let mut outcome = Ok(());
        for written in acks {
            let line = written.await.unwrap_or(Err(AuditError::Closed));
            outcome = outcome.and(line);
        }
        outcome
    }

    async fn enqueue(&self, event: AuditEvent, written: Option<Ack<()>>) -> bool {
        match self.queue.send(Queued::Event { event, written }).await {
            Ok(()) => true,
            Err(mpsc::error::SendError(Queued::Event { event, .. })) => {
                tracing::error!(?event, "audit log is closed; event not written");
                false
            }
            Err(mpsc::error::SendError(Queued::Head(_))) => false,
        }
    }

    /// The file this instance appends to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records the chain head in `cold` now (a `start` anchor), then every `every` while
    /// lines are added, and at [`AuditLog::close`] (a `shutdown` anchor). A failed
    /// recording is logged and retried at the next tick.
    pub async fn start_anchoring(&self, cold: Cold, every: Duration) {
        let mut anchoring = self.anchoring.lock().await;
        if anchoring.is_some() {
            return;
        }
        let anchors = Anchors {
            cold,
            instance: self.instance.clone(),
            file: self
                .path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        let anchored = match request_head(&self.queue).await {
            Ok(head) => match anchors.record(&head, AnchorReason::Start).await {
                Ok(true) => Some(head.lines),
                Ok(false) => None,
                Err(err) => {
                    tracing::warn!(error = %err, "audit start anchor not recorded; retrying next tick");
                    None
                }
            },
            Err(err) => {
                tracing::warn!(error = %err, "audit chain head unavailable; anchoring next tick");
                None
            }
        };
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(
            anchors
                .clone()
                .run(self.queue.clone(), anchored, every, stopped),
        );
        *anchoring = Some(Anchoring {
            anchors,
            stop,
            task,
        });
    }

    /// Writes everything queued, syncs the file, stops the writer and, when anchoring,
    /// records the final (`shutdown`) anchor.
    pub async fn close(&self) {
        let anchors = match self.anchoring.lock().await.take() {
            Some(Anchoring {
                anchors,
                stop,
                task,
            }) => {
                let _ = stop.send(());
                if let Err(err) = task.await {
                    tracing::warn!(error = %err, "audit anchor task failed");
                }
                Some(anchors)
            }
            None => None,
        };
        let mut head = None;
        if let Some(WriterTask { stop, task }) = self.writer.lock().await.take() {
            let _ = stop.send(());
            match task.await {
                Ok(synced) => head = synced,
                Err(err) => tracing::error!(error = %err, "audit writer task failed"),
            }
        }
        match (anchors, head) {
            (Some(anchors), Some(head)) => {
                if let Err(err) = anchors.record(&head, AnchorReason::Shutdown).await {
                    tracing::error!(error = %err, "audit shutdown anchor not recorded");
                }
            }
            (Some(_), None) => {
                tracing::error!("audit file not synced; no shutdown anchor recorded")
            }
            (None, _) => {}
        }
    }
}

/// Appends lines with plain `write(2)` calls from its own task: a few hundred bytes
/// into the page cache take microseconds, far less than handing every batch to
/// tokio's blocking pool and back (two thread wake-ups per batch, which `tokio::fs`
/// costs). Only `sync_data`, which waits for the disk, runs on the blocking pool.
struct Writer {
    file: Arc<std::fs::File>,
    /// Lines of the current batch not yet handed to the OS.
    pending: Vec<u8>,
    /// The chain as handed to the OS (`head` less the pending lines).
    on_file: ChainHead,
    instance: String,
    head: ChainHead,
    metrics: Arc<Metrics>,
    path: PathBuf,
}

impl Writer {
    /// Writes batches until stopped; returns the final head once the file is synced.
    async fn run(
        mut self,
        mut queue: mpsc::Receiver<Queued>,
        mut stop: oneshot::Receiver<()>,
    ) -> Option<ChainHead> {
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            tokio::select! {
                received = queue.recv_many(&mut batch, BATCH) => {
                    if received == 0 {
                        break;
                    }
                    self.write(&mut batch).await;
                }
                _ = &mut stop => {
                    queue.close();
                    while queue.recv_many(&mut batch, BATCH).await > 0 {
                        self.write(&mut batch).await;
                    }
                    break;
                }
            }
        }
        match self.sync().await {
            Ok(()) => Some(self.head),
            Err(err) => {
                tracing::error!(error = %err, path = %self.path.display(), "audit sync failed");
                None
            }
        }
    }

    async fn write(&mut self, batch: &mut Vec<Queued>) {
        let mut waiting = Vec::new();
        for item in batch.drain(..) {
            match item {
                Queued::Event {
                    event,
                    written: ack,
                } => {
                    let line = chain_line(&self.instance, &event, &self.head.last);
                    self.pending.extend_from_slice(line.text.as_bytes());
                    self.head.advance(line.hash);
                    if let Some(ack) = ack {
                        waiting.push(ack);
                    }
                }
                Queued::Head(reply) => {
                    self.flush_and_ack(&mut waiting);
                    let head = match self.sync().await {
                        Ok(()) => Ok(self.head.clone()),
                        Err(err) => Err(AuditError::Write(err.to_string())),
                    };
                    let _ = reply.send(head);
                }
            }
        }
        self.flush_and_ack(&mut waiting);
    }

    /// Hands the pending lines to the OS, then tells their waiting callers.
    fn flush_and_ack(&mut self, waiting: &mut Vec<Ack<()>>) {
        let flushed = self.flush().map_err(|err| {
            tracing::error!(error = %err, path = %self.path.display(), "audit write failed");
            AuditError::Write(err.to_string())
        });
        for ack in waiting.drain(..) {
            let _ = ack.send(flushed.clone());
        }
    }

    /// Writes the pending lines (one `write(2)` unless the kernel takes part of them).
    /// On failure the lines are dropped and the chain goes on from the last line
    /// written; a line cut short is ended, so it stays a line of its own (which
    /// verify names) instead of swallowing the next one.
    fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let lines = self.head.lines - self.on_file.lines;
        let mut file = &*self.file;
        let mut done = 0;
        let outcome = loop {
            match file.write(&self.pending[done..]) {
                Ok(0) => break Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) if done + n == self.pending.len() => break Ok(()),
                Ok(n) => done += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => break Err(err),
            }
        };
        if let Err(err) = &outcome {
            // The module's promise: a lost event is logged with the event.
            tracing::error!(error = %err, lines = %String::from_utf8_lossy(&self.pending), "audit lines not written");
        }
        self.pending.clear();
        match outcome {
            Ok(()) => {
                self.on_file = self.head.clone();
                self.metrics.audit_lines_written.fetch_add(lines, Relaxed);
            }
            Err(_) => {
                self.head = self.on_file.clone();
                if done > 0 {
                    let _ = file.write_all(b"\n");
                }
            }
        }
        outcome
    }

    async fn sync(&mut self) -> io::Result<()> {
        self.flush()?;
        let file = Arc::clone(&self.file);
        tokio::task::spawn_blocking(move || file.sync_data())
            .await
            .map_err(io::Error::other)?
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

/// Reads the whole file: its chain head, and whether it ends with a complete line.
async fn scan(file: &mut File) -> io::Result<(ChainHead, bool)> {
    file.seek(SeekFrom::Start(0)).await?;
    let mut reader = BufReader::new(&mut *file);
    let mut head = ChainHead::empty();
    let mut complete = true;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            break;
        }
        complete = line.last() == Some(&b'\n');
        head.advance(verify::line_hash(&verify::line_text(&line)));
    }
    Ok((head, complete))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("c4-audit-{}", uuid::Uuid::new_v4()))
    }

    #[tokio::test]
    async fn lines_chain_and_survive_a_restart() {
        let dir = temp_dir();
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

    #[tokio::test]
    async fn a_failed_write_is_reported_and_the_chain_goes_on_from_the_file() {
        let dir = temp_dir();
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("events-i1.jsonl");
        std::fs::write(&path, "").expect("create");
        let metrics = Arc::new(Metrics::default());
        // Opened read-only: every write(2) fails (EBADF), as on a full or broken disk.
        let read_only = std::fs::File::open(&path).expect("open");
        let mut writer = Writer {
            file: Arc::new(read_only),
            pending: Vec::new(),
            on_file: ChainHead::empty(),
            instance: "i1".to_string(),
            head: ChainHead::empty(),
            metrics: Arc::clone(&metrics),
            path: path.clone(),
        };
        let (ack, answer) = oneshot::channel();
        let mut batch = vec![Queued::Event {
            event: AuditEvent::new("move").game("g").seq(1),
            written: Some(ack),
        }];
        writer.write(&mut batch).await;
        assert!(matches!(answer.await, Ok(Err(AuditError::Write(_)))));
        assert_eq!(writer.head, ChainHead::empty(), "the chain did not advance");
        assert_eq!(metrics.audit_lines_written.load(Relaxed), 0);
        // Writable again: the next line chains from the last line in the file.
        writer.file = Arc::new(
            std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .expect("reopen"),
        );
        let (ack, answer) = oneshot::channel();
        let mut batch = vec![Queued::Event {
            event: AuditEvent::new("move").game("g").seq(2),
            written: Some(ack),
        }];
        writer.write(&mut batch).await;
        assert_eq!(answer.await.expect("answer"), Ok(()));
        let report = verify_files(&[path]).expect("verify");
        assert!(report[0].problems.is_empty(), "{:?}", report[0].problems);
        assert_eq!(report[0].lines, 1);
        assert_eq!(metrics.audit_lines_written.load(Relaxed), 1);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn record_written_resolves_once_every_callers_line_is_in_the_file() {
        let dir = temp_dir();
        let log = Arc::new(
            AuditLog::open(&dir, "i1", Arc::new(Metrics::default()))
                .await
                .expect("open"),
        );
        let callers: Vec<_> = (0..200u64)
            .map(|n| {
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    log.record_written(AuditEvent::new("move").game("g").seq(n))
                        .await
                })
            })
            .collect();
        for caller in callers {
            assert_eq!(caller.await.expect("caller"), Ok(()));
        }
        // Read while the writer is still running: nothing waits in a buffer.
        let text = std::fs::read_to_string(log.path()).expect("read");
        assert_eq!(text.lines().count(), 200);
        for n in 0..200 {
            assert!(text.contains(&format!("\"seq\":{n},")), "line of seq {n}");
        }
        log.close().await;
        assert_eq!(
            log.record_written(AuditEvent::new("late")).await,
            Err(AuditError::Closed)
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn record_all_written_keeps_the_order_and_resolves_once_all_are_in_the_file() {
        let dir = temp_dir();
        let log = AuditLog::open(&dir, "i1", Arc::new(Metrics::default()))
            .await
            .expect("open");
        let events = (0..5u64).map(|n| AuditEvent::new("move").game("g").seq(n));
        assert_eq!(log.record_all_written(events).await, Ok(()));
        let text = std::fs::read_to_string(log.path()).expect("read");
        let seqs: Vec<u64> = text
            .lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).expect("json");
                value["seq"].as_u64().expect("seq")
            })
            .collect();
        assert_eq!(seqs, vec![0, 1, 2, 3, 4]);
        log.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_line_cut_short_stays_a_line_of_its_own() {
        let dir = temp_dir();
        let metrics = Arc::new(Metrics::default());
        let log = AuditLog::open(&dir, "i1", Arc::clone(&metrics))
            .await
            .expect("open");
        log.record(AuditEvent::new("move")).await;
        log.close().await;
        let path = dir.join("events-i1.jsonl");
        let mut text = std::fs::read_to_string(&path).expect("read");
        // A write cut short by a crash leaves the start of a line without its end.
        let cut = text[..text.len() / 2].to_string();
        text.push_str(&cut);
        std::fs::write(&path, &text).expect("write");
        let log = AuditLog::open(&dir, "i1", metrics).await.expect("reopen");
        log.record_written(AuditEvent::new("move"))
            .await
            .expect("written");
        log.close().await;
        let report = verify_files(std::slice::from_ref(&path)).expect("verify");
        let flagged: Vec<usize> = report[0].problems.iter().map(|p| p.line).collect();
        assert_eq!((report[0].lines, flagged), (3, vec![2]));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn anchors_are_recorded_at_start_while_growing_and_at_shutdown() {
        let dir = temp_dir();
        let cold = Cold::connect(&format!("sqlite://{}/anchors.db?mode=rwc", dir.display()))
            .await
            .expect("sqlite");
        let metrics = Arc::new(Metrics::default());
        let log = AuditLog::open(&dir, "i1", Arc::clone(&metrics))
            .await
            .expect("open");
        for n in 0..3 {
            log.record(AuditEvent::new("move").seq(n)).await;
        }
        log.start_anchoring(cold.clone(), Duration::from_millis(50))
            .await;
        log.record_written(AuditEvent::new("move").seq(3))
            .await
            .expect("written");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while cold.audit_anchors().await.expect("anchors").len() < 2 {
            assert!(tokio::time::Instant::now() < deadline, "no periodic anchor");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        log.close().await;
        // A restart on the same file records a start anchor before anything else.
        let log = AuditLog::open(&dir, "i1", metrics).await.expect("reopen");
        log.start_anchoring(cold.clone(), Duration::from_secs(3600))
            .await;
        let anchors = cold.audit_anchors().await.expect("anchors");
        let kinds: Vec<(&str, i64)> = anchors
            .iter()
            .map(|a| (a.reason.as_str(), a.lines))
            .collect();
        assert_eq!(
            kinds,
            vec![("start", 3), ("periodic", 4), ("shutdown", 4), ("start", 4)]
        );
        let text = std::fs::read_to_string(log.path()).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert!(anchors.iter().all(|a| a.instance == "i1"
            && a.file == "events-i1.jsonl"
            && a.chain == verify::line_hash(lines[0])
            && a.hash == verify::line_hash(lines[a.lines as usize - 1])));
        log.close().await;
        cold.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
