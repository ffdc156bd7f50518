//! Baton's durable state, in sled. This crate is the only code that knows how keys
//! are laid out:
//!
//! - tree `log`: `<run id, 26 bytes><version, u64 big-endian>` -> one entry as JSON,
//!   `{"prev": "<BLAKE3 of the previous entry's bytes>", "event": <RunEvent>}`: a hash
//!   chain per run (the first entry's `prev` is the BLAKE3 of the run id), so a
//!   changed, removed or reordered entry is found by [`SledStore::verify`].
//!   Big-endian versions keep a run's events in order under a prefix scan.
//! - tree `runs`: `<run id>` -> the run's `RunSummary` as JSON, rewritten in the same
//!   transaction as every append, so `host runs` never folds a log.
//!
//! - tree `snapshots`: `<run id>` -> the run's folded state at some version
//!   (`RunState::snapshot`), with that version, the hash of the log entry at it and
//!   a checksum (`Kept`). Only a speed-up: every read checks the checksum and that
//!   the entry is still there with that hash, and removes one that fails;
//!   `host audit --verify` also folds the log and replaces one that differs.
//!
//! - trees `kv` and `kv_usage`: plugin key-value data and its quota counters (`kv.rs`).
//!
//! An append names the version it expects; if the log has moved on, the transaction
//! aborts with `StoreError::Conflict` and nothing is written. sled holds an exclusive
//! lock on its directory, so a second process gets [`OpenError::InUse`] with a clear
//! message instead of a sled error.

mod audit;
mod export;
mod kv;
mod ledger;
mod postgres;

pub use export::{EXPORT_FORMAT, Export, Exported, ImportError, Item};

pub use audit::{AuditEntry, BrokenLink, StoreBackend, Verified};
pub use ledger::{Counts, LEDGER_FILE, Loss};
pub use postgres::{DEFAULT_LEASE, Notice, PgStore, hide_password};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use baton_core::{
    InboxChange, InboxEntry, InboxKey, InboxPage, RunEvent, RunId, RunStore, RunSummary, StoreError,
};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "the state store at {} is in use by another process; wait for it to finish (or stop it)",
        path.display()
    )]
    InUse { path: PathBuf },
    #[error(
        "the disk holding the state store at {} is full (no space left on device): free space and try again; nothing acknowledged was lost",
        path.display()
    )]
    DiskFull { path: PathBuf },
    #[error("cannot open the state store at {}: {reason}", path.display())]
    Other { path: PathBuf, reason: String },
}

/// Run logs and summaries in a sled database.
#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
    commits: Arc<GroupCommit>,
    log: sled::Tree,
    runs: sled::Tree,
    kv: sled::Tree,
    kv_usage: sled::Tree,
    snapshots: sled::Tree,
    /// The index of pending decisions: `InboxKey::to_bytes` -> `InboxEntry` as JSON.
    inbox: sled::Tree,
    /// What this store has written, counted as it writes (`ledger.rs`).
    tally: Arc<ledger::Tally>,
    /// Where each group commit records what it made durable.
    ledger: Arc<ledger::Ledger>,
    /// What the store had acknowledged and no longer holds, found on open.
    loss: Option<Loss>,
    /// What opening had to repair.
    repairs: Vec<String>,
    /// The state directory.
    dir: PathBuf,
}

impl SledStore {
    /// Opens the store, waiting up to `wait` for another holder to let go of it: a
    /// short-lived command in another process, or sled's own flusher thread, which
    /// keeps the lock for a moment after a store in this process was dropped.
    pub fn open_waiting(path: &Path, wait: std::time::Duration) -> Result<SledStore, OpenError> {
        let deadline = std::time::Instant::now() + wait;
        loop {
            match SledStore::open(path) {
                Err(OpenError::InUse { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                other => return other,
            }
        }
    }

    pub fn open(path: &Path) -> Result<SledStore, OpenError> {
        let other = |reason: String| OpenError::Other {
            path: path.to_path_buf(),
            reason,
        };
        std::fs::create_dir_all(path).map_err(|e| other(e.to_string()))?;
        let mut repairs = Vec::new();
        let db = match open_db(path) {
            // sled writes a snapshot as `snap.<lsn>.generating` and renames it when
            // it is whole; one left by a crash or a full disk is read as the newest
            // snapshot, and every open fails. Only an open that failed (so no other
            // process holds the store) removes them, then tries once more: the store
            // is rebuilt from its log and the previous snapshot.
            Err(OpenError::Other { .. }) if !incomplete_snapshots(path).is_empty() => {
                for file in incomplete_snapshots(path) {
                    std::fs::remove_file(&file).map_err(|e| {
                        other(format!(
                            "cannot remove the incomplete snapshot {}: {e}",
                            file.display()
                        ))
                    })?;
                    repairs.push(format!(
                        "removed {}, an incomplete snapshot a crash or a full disk left behind; the store was rebuilt from its log",
                        file.display()
                    ));
                }
                open_db(path)?
            }
            opened => opened?,
        };
        let log = db.open_tree("log").map_err(|e| other(e.to_string()))?;
        let runs = db.open_tree("runs").map_err(|e| other(e.to_string()))?;
        let kv = db.open_tree("kv").map_err(|e| other(e.to_string()))?;
        let kv_usage = db.open_tree("kv_usage").map_err(|e| other(e.to_string()))?;
        let snapshots = db
            .open_tree("snapshots")
            .map_err(|e| other(e.to_string()))?;
        let inbox = db.open_tree("inbox").map_err(|e| other(e.to_string()))?;
        if db
            .get(export::IMPORTING_KEY)
            .map_err(|e| other(e.to_string()))?
            .is_some()
        {
            return Err(other(format!(
                "an import into this store did not finish; remove {} and import again",
                path.display()
            )));
        }
        let found = match db
            .get(ledger::TALLY_KEY)
            .map_err(|e| other(e.to_string()))?
        {
            Some(bytes) => ledger::Counts::decode(&bytes)
                .ok_or_else(|| other("the store's own count of its writes is malformed".into()))?,
            // A store from before the count, or one that lost even its first flush.
            None => count(&runs, &kv).map_err(|e| other(e.to_string()))?,
        };
        let (ledger, acknowledged) = ledger::Ledger::open(path).map_err(|e| {
            other(format!(
                "cannot open {}: {e}",
                path.join(ledger::LEDGER_FILE).display()
            ))
        })?;
        let loss = match acknowledged {
            ledger::Found::Counts(acknowledged) if found.short_of(&acknowledged) => Some(Loss {
                acknowledged,
                found,
                store: path.display().to_string(),
            }),
            ledger::Found::Counts(_) => None,
            ledger::Found::Missing => {
                if found != ledger::Counts::default() {
                    repairs.push(format!(
                        "{} was missing: from now on it records what the store acknowledges, so a loss is noticed (a loss before now cannot be)",
                        ledger.path().display()
                    ));
                }
                None
            }
            ledger::Found::Unreadable => {
                repairs.push(format!(
                    "{} was unreadable and was started again: a loss before now cannot be noticed",
                    ledger.path().display()
                ));
                None
            }
        };
        let store = SledStore {
            db,
            commits: Arc::default(),
            log,
            runs,
            kv,
            kv_usage,
            snapshots,
            inbox,
            tally: Arc::new(ledger::Tally::starting_at(found)),
            ledger: Arc::new(ledger),
            loss,
            repairs,
            dir: path.to_path_buf(),
        };
        // A store from before the index (or whose index was dropped) builds it once
        // from its waiting runs.
        if store.loss.is_none()
            && store
                .db
                .get(INBOX_KEY)
                .map_err(|e| other(e.to_string()))?
                .is_none()
        {
            store
                .rebuild_inbox()
                .map_err(|e| other(format!("cannot build the index of pending decisions: {e}")))?;
        }
        Ok(store)
    }

    /// What the store acknowledged and no longer holds, if anything: a store with a
    /// loss is for salvage (verify, export) only, and never records a new
    /// acknowledgement that would hide the loss.
    pub fn loss(&self) -> Option<&Loss> {
        self.loss.as_ref()
    }

    /// What opening the store had to repair, in words for the operator.
    pub fn repairs(&self) -> &[String] {
        &self.repairs
    }
}

/// Counts what a store holds by reading it: for a store without a count of its own.
fn count(runs: &sled::Tree, kv: &sled::Tree) -> Result<ledger::Counts, StoreError> {
    let mut counts = ledger::Counts {
        kv_writes: kv.len() as u64,
        ..Default::default()
    };
    for entry in runs.iter() {
        let (_, bytes) = entry.map_err(io)?;
        counts.runs += 1;
        counts.events += serde_json::from_slice::<RunSummary>(&bytes)
            .map(|s| s.version)
            .unwrap_or(0);
    }
    Ok(counts)
}

/// The snapshot files sled had not finished writing.
fn incomplete_snapshots(path: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|file| {
            file.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("snap.") && n.ends_with(".generating"))
        })
        .collect()
}

/// Opens sled in `path`; a lock held by another process is [`OpenError::InUse`].
fn open_db(path: &Path) -> Result<sled::Db, OpenError> {
    let other = |reason: String| OpenError::Other {
        path: path.to_path_buf(),
        reason,
    };
    sled::Config::new().path(path).open().map_err(|e| match &e {
        sled::Error::Io(io)
            if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("lock") =>
        {
            OpenError::InUse {
                path: path.to_path_buf(),
            }
        }
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::StorageFull => {
            OpenError::DiskFull {
                path: path.to_path_buf(),
            }
        }
        _ => other(e.to_string()),
    })
}

/// Coalesces concurrent requests to make the store durable. Each request takes a
/// ticket after its appends; a flush that starts after a ticket was taken covers it.
/// One caller at a time flushes (the leader); the others wait, and one of them leads
/// the next flush for every ticket taken meanwhile.
#[derive(Debug, Default)]
struct GroupCommit {
    state: Mutex<Commits>,
    flushed: Condvar,
}

#[derive(Debug, Default)]
struct Commits {
    /// Tickets handed out so far.
    taken: u64,
    /// Every ticket up to this one is durable.
    durable: u64,
    flushing: bool,
}

impl GroupCommit {
    fn sync(&self, flush: impl Fn() -> Result<(), StoreError>) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.taken += 1;
        let ticket = state.taken;
        loop {
            if state.durable >= ticket {
                return Ok(());
            }
            if !state.flushing {
                state.flushing = true;
                let covers = state.taken;
                drop(state);
                let result = flush();
                let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                state.flushing = false;
                if result.is_ok() {
                    state.durable = state.durable.max(covers);
                }
                self.flushed.notify_all();
                return result;
            }
            state = self
                .flushed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Set once the index of pending decisions was built; from then on every append
/// keeps it.
const INBOX_KEY: &[u8] = b"baton.inbox";
/// In the index tree, after every entry (their keys start with a severity, 0 to 3):
/// how many entries it holds, kept by every append that changes it.
const INBOX_COUNT_KEY: &[u8] = &[0xff];

fn inbox_count(bytes: Option<&[u8]>) -> u64 {
    bytes
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

fn log_key(run: &RunId, version: u64) -> Vec<u8> {
    let mut key = run.as_str().as_bytes().to_vec();
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// A store error in words; a full disk says what to do, wherever it is met (on
/// opening, on an append, on a flush).
fn io(e: impl std::fmt::Display) -> StoreError {
    let text = e.to_string();
    let full = ["StorageFull", "No space left on device", "no storage space"];
    if full.iter().any(|sign| text.contains(sign)) {
        return StoreError::Io(
            "state store: the disk is full (no space left on device): free space and try again; nothing acknowledged was lost"
                .into(),
        );
    }
    StoreError::Io(format!("state store: {text}"))
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// An append's entries and summary, within a transaction: refused unless the run is
/// at `expected_version`.
fn write_run(
    log: &sled::transaction::TransactionalTree,
    runs: &sled::transaction::TransactionalTree,
    run: &RunId,
    expected_version: u64,
    events: &[RunEvent],
    summary_bytes: &[u8],
) -> TxResult<u64> {
    let found = match runs.get(run.as_str().as_bytes())? {
        Some(bytes) => serde_json::from_slice::<RunSummary>(&bytes)
            .map(|s| s.version)
            .map_err(|e| ConflictableTransactionError::Abort(io(e)))?,
        None => 0,
    };
    if found != expected_version {
        return Err(ConflictableTransactionError::Abort(StoreError::Conflict {
            run: run.clone(),
            expected: expected_version,
            found,
        }));
    }
    let mut prev = match found {
        0 => audit::genesis(run),
        _ => match log.get(log_key(run, found))? {
            Some(bytes) => audit::hash(&bytes),
            None => audit::genesis(run),
        },
    };
    for (offset, event) in events.iter().enumerate() {
        let entry =
            audit::encode(&prev, event).map_err(|e| ConflictableTransactionError::Abort(io(e)))?;
        prev = audit::hash(&entry);
        log.insert(log_key(run, found + offset as u64 + 1), entry)?;
    }
    runs.insert(run.as_str().as_bytes(), summary_bytes)?;
    Ok(found + events.len() as u64)
}

impl RunStore for SledStore {
    fn append(
        &self,
        run: &RunId,
        expected_version: u64,
        events: &[RunEvent],
        summary: &RunSummary,
        inbox: &InboxChange,
    ) -> Result<u64, StoreError> {
        let summary_bytes = serde_json::to_vec(summary).map_err(io)?;
        let put = inbox
            .put
            .iter()
            .map(|(key, entry)| Ok((key.to_bytes(), serde_json::to_vec(entry).map_err(io)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let remove: Vec<Vec<u8>> = inbox.remove.iter().map(InboxKey::to_bytes).collect();
        let result = if inbox.is_empty() {
            (&self.log, &self.runs).transaction(|(log, runs)| {
                write_run(log, runs, run, expected_version, events, &summary_bytes)
            })
        } else {
            (&self.log, &self.runs, &self.inbox).transaction(|(log, runs, index)| {
                let version = write_run(log, runs, run, expected_version, events, &summary_bytes)?;
                let mut count = inbox_count(index.get(INBOX_COUNT_KEY)?.as_deref());
                for key in &remove {
                    count -= u64::from(index.remove(key.as_slice())?.is_some()).min(count);
                }
                for (key, entry) in &put {
                    count += u64::from(index.insert(key.as_slice(), entry.as_slice())?.is_none());
                }
                index.insert(INBOX_COUNT_KEY, &count.to_be_bytes())?;
                Ok(version)
            })
        };
        match result {
            Ok(version) => {
                self.tally.appended(expected_version == 0, events.len());
                Ok(version)
            }
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(io(e)),
        }
    }

    /// Group commit: callers that ask while a flush is under way wait for the next
    /// one, which covers all of them, so concurrent runs share one fsync. Each flush
    /// carries the store's counts, and then records them in the ledger (`ledger.rs`).
    fn sync(&self) -> Result<(), StoreError> {
        if let Some(loss) = &self.loss {
            return Err(StoreError::Io(loss.to_string()));
        }
        self.commits.sync(|| {
            let counts = self.tally.now();
            self.db
                .insert(ledger::TALLY_KEY, counts.encode())
                .map_err(io)?;
            self.db.flush().map_err(io)?;
            self.ledger.record(counts).map_err(|e| {
                io(format!(
                    "cannot record the acknowledged writes in {}: {e}",
                    self.ledger.path().display()
                ))
            })
        })
    }

    fn inbox_page(&self, after: Option<&InboxKey>, limit: usize) -> Result<InboxPage, StoreError> {
        let from = match after {
            Some(after) => {
                let mut from = after.to_bytes();
                from.push(0);
                from
            }
            None => vec![],
        };
        let range = self.inbox.range(from..INBOX_COUNT_KEY.to_vec());
        let mut entries = Vec::with_capacity(limit.min(1024));
        for item in range.take(limit) {
            let (key, bytes) = item.map_err(io)?;
            let key = InboxKey::from_bytes(&key)
                .ok_or_else(|| io("a key of the index of pending decisions is malformed; run `host audit --verify` to rebuild it"))?;
            let entry = serde_json::from_slice(&bytes).map_err(io)?;
            entries.push((key, entry));
        }
        let total = inbox_count(self.inbox.get(INBOX_COUNT_KEY).map_err(io)?.as_deref());
        Ok(InboxPage { entries, total })
    }

    fn events(&self, run: &RunId) -> Result<Vec<RunEvent>, StoreError> {
        let events = self
            .raw_log(run)?
            .iter()
            .map(|(_, bytes)| audit::decode(bytes).map(|(_, event)| event).map_err(io))
            .collect::<Result<Vec<_>, _>>()?;
        if events.is_empty() {
            return Err(StoreError::NoSuchRun(run.clone()));
        }
        Ok(events)
    }

    fn summaries(&self) -> Result<Vec<RunSummary>, StoreError> {
        self.runs
            .iter()
            .map(|entry| {
                let (_, bytes) = entry.map_err(io)?;
                serde_json::from_slice(&bytes).map_err(io)
            })
            .collect()
    }

    fn events_after(&self, run: &RunId, version: u64) -> Result<Vec<RunEvent>, StoreError> {
        self.log
            .range(log_key(run, version + 1)..log_key(run, u64::MAX))
            .map(|entry| {
                let (_, bytes) = entry.map_err(io)?;
                audit::decode(&bytes).map(|(_, event)| event).map_err(io)
            })
            .collect()
    }

    fn snapshot(&self, run: &RunId) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        self.checked_snapshot(run)
    }

    fn save_snapshot(&self, run: &RunId, version: u64, state: &[u8]) -> Result<(), StoreError> {
        self.keep_snapshot(run, version, state)
    }
}

impl StoreBackend for SledStore {
    fn raw_log(&self, run: &RunId) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.log_entries(run)
    }

    fn raw_summaries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.runs
            .iter()
            .map(|entry| {
                let (key, bytes) = entry.map_err(io)?;
                Ok((String::from_utf8_lossy(&key).into_owned(), bytes.to_vec()))
            })
            .collect()
    }

    fn raw_kv(&self) -> Result<Vec<(String, String, Vec<u8>)>, StoreError> {
        let mut entries = Vec::new();
        for entry in self.kv.iter() {
            let (key, value) = entry.map_err(io)?;
            if let Some(split) = key.iter().position(|b| *b == 0) {
                entries.push((
                    String::from_utf8_lossy(&key[..split]).into_owned(),
                    String::from_utf8_lossy(&key[split + 1..]).into_owned(),
                    value.to_vec(),
                ));
            }
        }
        Ok(entries)
    }

    fn raw_snapshot(&self, run: &RunId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .snapshots
            .get(run.as_str().as_bytes())
            .map_err(io)?
            .map(|v| v.to_vec()))
    }

    fn raw_entry(&self, run: &RunId, version: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .log
            .get(log_key(run, version))
            .map_err(io)?
            .map(|v| v.to_vec()))
    }

    fn raw_inbox(&self) -> Result<Vec<(InboxKey, InboxEntry)>, StoreError> {
        Ok(self.inbox_page(None, usize::MAX)?.entries)
    }

    fn put_inbox(&self, entries: Vec<(InboxKey, InboxEntry)>) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for key in self.inbox.iter().keys() {
            batch.remove(key.map_err(io)?);
        }
        for (key, entry) in &entries {
            batch.insert(key.to_bytes(), serde_json::to_vec(entry).map_err(io)?);
        }
        batch.insert(INBOX_COUNT_KEY, &(entries.len() as u64).to_be_bytes());
        self.inbox.apply_batch(batch).map_err(io)?;
        self.db.insert(INBOX_KEY, b"1".as_slice()).map_err(io)?;
        Ok(())
    }

    fn put_snapshot(&self, run: &RunId, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.snapshots
            .insert(run.as_str().as_bytes(), bytes)
            .map(drop)
            .map_err(io)
    }

    fn drop_snapshot(&self, run: &RunId) -> Result<(), StoreError> {
        self.snapshots
            .remove(run.as_str().as_bytes())
            .map(drop)
            .map_err(io)
    }

    fn counts(&self) -> Counts {
        self.tally.now()
    }

    fn lost(&self) -> Option<Loss> {
        self.loss.clone()
    }

    fn location(&self) -> String {
        self.dir.display().to_string()
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.runs.is_empty() && self.kv.is_empty())
    }

    fn write_import(
        &self,
        replay: &mut crate::export::Replay<'_>,
        counted: &Exported,
    ) -> Result<(), ImportError> {
        self.write_import_here(replay, counted)
    }
}

/// A kept snapshot: `<version, u64 BE><hex BLAKE3 of log entry <version>>
/// <BLAKE3 of the state><the state>`.
pub(crate) struct Kept<'a> {
    pub(crate) version: u64,
    pub(crate) head: &'a str,
    pub(crate) state: &'a [u8],
}

impl Kept<'_> {
    pub(crate) fn encode(version: u64, head: &str, state: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(8 + HEAD + 32 + state.len());
        bytes.extend_from_slice(&version.to_be_bytes());
        bytes.extend_from_slice(head.as_bytes());
        bytes.extend_from_slice(blake3::hash(state).as_bytes());
        bytes.extend_from_slice(state);
        bytes
    }

    /// The parts of a kept snapshot whose state is whole.
    pub(crate) fn parse(bytes: &[u8]) -> Option<Kept<'_>> {
        let version = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let head = std::str::from_utf8(bytes.get(8..8 + HEAD)?).ok()?;
        let sum = bytes.get(8 + HEAD..8 + HEAD + 32)?;
        let state = bytes.get(8 + HEAD + 32..)?;
        (blake3::hash(state).as_bytes() == sum).then_some(Kept {
            version,
            head,
            state,
        })
    }
}

/// The length of a BLAKE3 hash in hex.
const HEAD: usize = 64;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn concurrent_syncs_share_flushes_and_each_waits_for_one_that_covers_it() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let commits = GroupCommit::default();
        let flushes = AtomicU64::new(0);
        let appended = AtomicU64::new(0);
        let on_disk = AtomicU64::new(0);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..50 {
                        let mine = appended.fetch_add(1, Ordering::SeqCst) + 1;
                        commits
                            .sync(|| {
                                flushes.fetch_add(1, Ordering::SeqCst);
                                let upto = appended.load(Ordering::SeqCst);
                                std::thread::sleep(std::time::Duration::from_millis(1));
                                on_disk.fetch_max(upto, Ordering::SeqCst);
                                Ok(())
                            })
                            .unwrap();
                        // What this thread appended is durable when sync returns.
                        assert!(on_disk.load(Ordering::SeqCst) >= mine);
                    }
                });
            }
        });
        let flushes = flushes.load(Ordering::SeqCst);
        assert!(
            flushes < 400,
            "{flushes} flushes for 400 syncs: none were shared"
        );
        assert!(flushes > 0);
    }
    use crate::StoreBackend;
    use baton_core::{RunState, RunStatus};
    use serde_json::json;

    pub(crate) fn summary(run: &RunId, version: u64) -> RunSummary {
        RunSummary {
            id: run.clone(),
            workflow: "w".into(),
            status: RunStatus::Running,
            started_at: 1,
            updated_at: 1,
            pending: 0,
            version,
            expires_at: None,
            about: None,
            spot_checks: 0,
            damaged: None,
        }
    }

    fn started() -> RunEvent {
        RunEvent::RunStarted {
            at: 1,
            workflow: "w".into(),
            workflow_path: "w.toml".into(),
            workflow_digest: "d".into(),
            plugin_digests: Default::default(),
            input: json!({"a": 1}),
            by: "ana".into(),
        }
    }

    #[test]
    fn appends_survive_reopening_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunId::generate();
        {
            let store = SledStore::open(dir.path()).unwrap();
            store
                .append(
                    &run,
                    0,
                    &[started()],
                    &summary(&run, 1),
                    &Default::default(),
                )
                .unwrap();
            store
                .append(
                    &run,
                    1,
                    &[RunEvent::RunCompleted { at: 2 }],
                    &summary(&run, 2),
                    &Default::default(),
                )
                .unwrap();
            store.sync().unwrap();
        }
        let store = SledStore::open_waiting(dir.path(), std::time::Duration::from_secs(5)).unwrap();
        let events = store.events(&run).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1], RunEvent::RunCompleted { at: 2 });
        assert_eq!(store.summaries().unwrap()[0].version, 2);
    }

    #[test]
    fn an_append_from_a_stale_version_is_refused_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let run = RunId::generate();
        store
            .append(
                &run,
                0,
                &[started()],
                &summary(&run, 1),
                &Default::default(),
            )
            .unwrap();
        let error = store
            .append(
                &run,
                0,
                &[started()],
                &summary(&run, 1),
                &Default::default(),
            )
            .unwrap_err();
        assert!(matches!(
            error,
            StoreError::Conflict {
                expected: 0,
                found: 1,
                ..
            }
        ));
        assert_eq!(store.events(&run).unwrap().len(), 1);
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    #[test]
    fn a_store_whose_files_lost_acknowledged_runs_says_how_many_and_refuses_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let wait = std::time::Duration::from_secs(5);
        let first = RunId::generate();
        {
            let store = SledStore::open(&state).unwrap();
            store
                .append(
                    &first,
                    0,
                    &[started()],
                    &summary(&first, 1),
                    &Default::default(),
                )
                .unwrap();
            store.sync().unwrap();
        }
        let older = dir.path().join("older");
        copy_dir(&state, &older);
        {
            let store = SledStore::open_waiting(&state, wait).unwrap();
            assert!(store.loss().is_none());
            for _ in 0..2 {
                let run = RunId::generate();
                three_events(&store, &run);
                store.sync().unwrap();
            }
        }
        // sled's files go back to before the two runs; the ledger stays: exactly what
        // sled's recovery does when it stops at a damaged record.
        std::fs::copy(state.join(LEDGER_FILE), older.join(LEDGER_FILE)).unwrap();
        let store = SledStore::open_waiting(&older, wait).unwrap();
        let loss = store.loss().expect("the loss is found on open");
        assert_eq!((loss.acknowledged.runs, loss.found.runs), (3, 1));
        assert_eq!((loss.acknowledged.events, loss.found.events), (7, 1));
        assert!(
            loss.to_string().contains("2 runs, 6 events missing"),
            "{loss}"
        );
        let verified = store.verify().unwrap();
        assert_eq!(verified.loss.as_ref(), Some(loss));
        assert!(!verified.intact());
        // Nothing new is acknowledged over the loss.
        let run = RunId::generate();
        store
            .append(
                &run,
                0,
                &[started()],
                &summary(&run, 1),
                &Default::default(),
            )
            .unwrap();
        assert!(store.sync().is_err());
        drop(store);
        let store = SledStore::open_waiting(&older, wait).unwrap();
        assert!(
            store.loss().is_some(),
            "the loss is still said after reopening"
        );
    }

    #[test]
    fn a_store_from_before_the_ledger_starts_one_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunId::generate();
        {
            let store = SledStore::open(dir.path()).unwrap();
            three_events(&store, &run);
            store.sync().unwrap();
            store.db.remove(ledger::TALLY_KEY).unwrap();
            store.db.flush().unwrap();
        }
        std::fs::remove_file(dir.path().join(LEDGER_FILE)).unwrap();
        let wait = std::time::Duration::from_secs(5);
        let store = SledStore::open_waiting(dir.path(), wait).unwrap();
        assert!(store.loss().is_none());
        assert_eq!(store.counts().runs, 1);
        assert_eq!(store.counts().events, 3);
        assert!(
            store.repairs()[0].contains("was missing"),
            "{:?}",
            store.repairs()
        );
        assert!(store.verify().unwrap().intact());
    }

    #[test]
    fn a_snapshot_is_used_only_while_it_matches_the_log_and_verify_rebuilds_one_that_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let run = RunId::generate();
        three_events(&store, &run);
        let events = store.events(&run).unwrap();
        let at_two = RunState::fold(&run, &events[..2]).unwrap();
        store.save_snapshot(&run, 2, &at_two.snapshot()).unwrap();
        assert_eq!(store.snapshot(&run).unwrap(), Some((2, at_two.snapshot())));
        assert_eq!(store.events_after(&run, 2).unwrap(), events[2..].to_vec());

        // One whose bytes changed is removed on read.
        let key = run.as_str().as_bytes();
        let mut bytes = store.snapshots.get(key).unwrap().unwrap().to_vec();
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        store.snapshots.insert(key, bytes).unwrap();
        assert_eq!(store.snapshot(&run).unwrap(), None);
        assert!(store.snapshots.get(key).unwrap().is_none());

        // One written whole, but of another state than the log folds to, is found
        // by verify and replaced by the log's fold.
        let other = RunState::fold(&run, &events[..1]).unwrap();
        let forged = String::from_utf8(other.snapshot())
            .unwrap()
            .replace("\"version\":1", "\"version\":2");
        store.save_snapshot(&run, 2, forged.as_bytes()).unwrap();
        let verified = store.verify().unwrap();
        assert_eq!(verified.snapshots_rebuilt, vec![run.clone()]);
        let all = RunState::fold(&run, &events).unwrap();
        assert_eq!(store.snapshot(&run).unwrap(), Some((3, all.snapshot())));
        assert!(store.verify().unwrap().snapshots_rebuilt.is_empty());
    }

    #[test]
    fn a_full_disk_met_on_a_write_says_what_to_do() {
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        let said = super::io(sled::Error::Io(full)).to_string();
        assert!(
            said.contains("no space left on device") && said.contains("free space and try again"),
            "{said}"
        );
        assert_eq!(
            super::io("a broken page").to_string(),
            "state store: a broken page"
        );
    }

    #[test]
    fn a_second_opener_gets_a_clear_in_use_error() {
        let dir = tempfile::tempdir().unwrap();
        let _first = SledStore::open(dir.path()).unwrap();
        let error = SledStore::open(dir.path()).unwrap_err();
        assert!(matches!(error, OpenError::InUse { .. }), "{error}");
        assert!(error.to_string().contains("in use by another process"));
    }

    #[test]
    fn an_unknown_run_is_named_without_a_front_ends_words() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let run = RunId::generate();
        let error = store.events(&run).unwrap_err();
        assert!(matches!(error, StoreError::NoSuchRun(_)), "{error}");
        assert_eq!(error.to_string(), format!("no run {run}"));
    }

    fn three_events(store: &SledStore, run: &RunId) {
        store
            .append(run, 0, &[started()], &summary(run, 1), &Default::default())
            .unwrap();
        store
            .append(
                run,
                1,
                &[
                    RunEvent::RunCompleted { at: 2 },
                    RunEvent::RunRejected { at: 3 },
                ],
                &summary(run, 3),
                &Default::default(),
            )
            .unwrap();
    }

    #[test]
    fn each_entry_links_to_the_one_before_and_verify_accepts_an_untouched_log() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let run = RunId::generate();
        three_events(&store, &run);
        let audit = store.audit(&run).unwrap();
        assert_eq!(audit.len(), 3);
        assert_eq!(
            audit[0].prev.as_deref(),
            Some(audit::genesis(&run).as_str())
        );
        assert_eq!(audit[1].prev.as_deref(), Some(audit[0].hash.as_str()));
        assert_eq!(audit[2].prev.as_deref(), Some(audit[1].hash.as_str()));
        let verified = store.verify().unwrap();
        assert_eq!((verified.runs, verified.events), (1, 3));
        assert!(verified.broken.is_empty(), "{verified:?}");
    }

    #[test]
    fn a_changed_entry_breaks_the_link_after_it_and_a_removed_one_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let changed = RunId::generate();
        three_events(&store, &changed);
        let key = log_key(&changed, 2);
        let bytes = store.log.get(&key).unwrap().unwrap();
        let forged = String::from_utf8(bytes.to_vec())
            .unwrap()
            .replace("\"at\":2", "\"at\":9");
        store.log.insert(&key, forged.as_bytes()).unwrap();
        let removed = RunId::generate();
        three_events(&store, &removed);
        store.log.remove(log_key(&removed, 3)).unwrap();

        let mut broken = store.verify().unwrap().broken;
        broken.sort_by_key(|b| b.run.as_str() != changed.as_str());
        assert_eq!(broken.len(), 2, "{broken:?}");
        assert_eq!((&broken[0].run, broken[0].version), (&changed, 3));
        assert!(
            broken[0].reason.contains("does not link to entry 2"),
            "{broken:?}"
        );
        assert_eq!((&broken[1].run, broken[1].version), (&removed, 3));
        assert!(
            broken[1].reason.contains("entries were removed"),
            "{broken:?}"
        );
    }

    #[test]
    fn entries_from_before_the_chain_still_load_and_are_counted_as_unchained() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let run = RunId::generate();
        let bare = serde_json::to_vec(&started()).unwrap();
        store.log.insert(log_key(&run, 1), bare).unwrap();
        store
            .runs
            .insert(
                run.as_str().as_bytes(),
                serde_json::to_vec(&summary(&run, 1)).unwrap(),
            )
            .unwrap();
        store
            .append(
                &run,
                1,
                &[RunEvent::RunCompleted { at: 2 }],
                &summary(&run, 2),
                &Default::default(),
            )
            .unwrap();
        assert_eq!(store.events(&run).unwrap().len(), 2);
        let verified = store.verify().unwrap();
        assert_eq!(verified.unchained, 1);
        assert!(verified.broken.is_empty(), "{verified:?}");
    }
}
