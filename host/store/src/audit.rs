//! The audit chain: every log entry carries the BLAKE3 of the entry before it, so
//! the log of a run can be exported as evidence and checked for tampering.

use baton_core::{
    InboxEntry, InboxKey, RunEvent, RunId, RunState, RunStore, RunSummary, StoreError,
};
use serde::{Deserialize, Serialize};

use crate::{SledStore, io};

#[derive(Serialize)]
struct EntryOut<'a> {
    prev: &'a str,
    event: &'a RunEvent,
}

#[derive(Deserialize)]
struct EntryIn {
    prev: String,
    event: RunEvent,
}

/// The `prev` of a run's first entry.
pub(crate) fn genesis(run: &RunId) -> String {
    hash(run.as_str().as_bytes())
}

pub(crate) fn hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

pub(crate) fn encode(prev: &str, event: &RunEvent) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&EntryOut { prev, event })
}

/// An entry's `prev` and event. Entries written before the chain existed are a bare
/// event; their `prev` is `None`.
pub(crate) fn decode(bytes: &[u8]) -> Result<(Option<String>, RunEvent), serde_json::Error> {
    match serde_json::from_slice::<EntryIn>(bytes) {
        Ok(entry) => Ok((Some(entry.prev), entry.event)),
        Err(chained) => serde_json::from_slice::<RunEvent>(bytes)
            .map(|event| (None, event))
            .map_err(|_| chained),
    }
}

/// Walks a run's hash chain entry by entry: each entry's `prev` is the hash of the
/// one before it (the run id's, for the first), and versions run 1, 2, 3... A break
/// is (the entry where it breaks, why).
pub(crate) struct Chain {
    prev: String,
    count: u64,
}

impl Chain {
    pub(crate) fn new(run: &RunId) -> Chain {
        Chain {
            prev: genesis(run),
            count: 0,
        }
    }

    /// Checks the next entry: its `prev` (`None` for an entry from before chains)
    /// and its event.
    pub(crate) fn next(
        &mut self,
        version: u64,
        bytes: &[u8],
    ) -> Result<(Option<String>, RunEvent), (u64, String)> {
        self.count += 1;
        let count = self.count;
        if version != count {
            return Err((
                count,
                format!("entry {count} is missing (the next one is {version})"),
            ));
        }
        let decoded = decode(bytes)
            .map_err(|e| (version, format!("entry {version} does not parse ({e})")))?;
        if let (Some(prev), _) = &decoded
            && *prev != self.prev
        {
            return Err((
                version,
                format!(
                    "entry {version} does not link to entry {}: that entry was changed, or this one was moved",
                    version - 1
                ),
            ));
        }
        self.prev = hash(bytes);
        Ok(decoded)
    }

    /// Checks that the chain was as long as the run's summary says.
    pub(crate) fn end(&self, version: u64) -> Result<(), (u64, String)> {
        if self.count != version {
            return Err((
                self.count + 1,
                format!(
                    "the log ends at entry {} but the run's summary counts {version}: entries were removed",
                    self.count
                ),
            ));
        }
        Ok(())
    }
}

/// One entry of a run's log as evidence: its place, the hash it links back to, its
/// own hash, and the event.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct AuditEntry {
    pub version: u64,
    /// `None` for entries written before audit chains existed.
    pub prev: Option<String>,
    pub hash: String,
    pub event: RunEvent,
}

/// The first place where a run's log does not hold together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BrokenLink {
    pub run: RunId,
    /// The entry where the chain breaks.
    pub version: u64,
    pub reason: String,
}

/// What [`SledStore::verify`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Verified {
    pub runs: usize,
    pub events: u64,
    /// Entries from before audit chains existed, which cannot be checked.
    pub unchained: u64,
    pub broken: Vec<BrokenLink>,
    /// Runs whose kept snapshot of folded state was checked against their log.
    #[serde(default)]
    pub snapshots: u64,
    /// Runs whose kept snapshot did not match what their log folds to: each was
    /// replaced by the log's fold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshots_rebuilt: Vec<RunId>,
    /// What the store acknowledged and no longer holds (`ledger.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<crate::Loss>,
    /// Set when the index of pending decisions disagreed with the logs, saying how;
    /// it was rebuilt from them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbox_rebuilt: Option<String>,
}

impl Verified {
    /// Whether every chain is intact and nothing acknowledged is missing.
    pub fn intact(&self) -> bool {
        self.broken.is_empty() && self.loss.is_none()
    }
}

/// What every backend offers beyond the run store traits, written once over a few
/// primitives each backend provides (its entries, summaries, kv data and snapshots
/// as stored): a run's audit trail, the check of every chain, export and import.
pub trait StoreBackend: RunStore {
    /// A run's log entries as stored, in version order.
    fn raw_log(&self, run: &RunId) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// Every run's summary as stored: (run id, bytes).
    fn raw_summaries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Every plugin kv entry: (scope, key, value).
    fn raw_kv(&self) -> Result<Vec<(String, String, Vec<u8>)>, StoreError>;
    /// A run's kept snapshot as stored ([`crate::Kept`]'s layout).
    fn raw_snapshot(&self, run: &RunId) -> Result<Option<Vec<u8>>, StoreError>;
    /// One log entry as stored.
    fn raw_entry(&self, run: &RunId, version: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Keeps `bytes` ([`crate::Kept`]'s layout) as the run's snapshot.
    fn put_snapshot(&self, run: &RunId, bytes: Vec<u8>) -> Result<(), StoreError>;
    /// Forgets the run's snapshot.
    fn drop_snapshot(&self, run: &RunId) -> Result<(), StoreError>;
    /// What the store counts it holds (runs, events, kv writes).
    fn counts(&self) -> crate::Counts;
    /// What the store acknowledged and no longer holds, found when it was opened.
    fn lost(&self) -> Option<crate::Loss>;
    /// Where the store is, for messages (a directory, or a URL without password).
    fn location(&self) -> String;
    /// Whether it holds no run and no kv data.
    fn is_empty(&self) -> Result<bool, StoreError>;
    /// The whole index of pending decisions, in its order.
    fn raw_inbox(&self) -> Result<Vec<(InboxKey, InboxEntry)>, StoreError>;
    /// Replaces the whole index of pending decisions with `entries`, and marks it
    /// built.
    fn put_inbox(&self, entries: Vec<(InboxKey, InboxEntry)>) -> Result<(), StoreError>;
    /// Writes what `replay` hands over (an import, checked already) all or nothing,
    /// with `counted` its totals, and makes it durable.
    fn write_import(
        &self,
        replay: &mut crate::export::Replay<'_>,
        counted: &crate::Exported,
    ) -> Result<(), crate::ImportError>;

    /// [`RunStore::snapshot`] for every backend: the kept state if its checksum
    /// holds and the log entry it was taken at is still there with that hash;
    /// otherwise it is dropped (the log is folded instead, and a new one kept later).
    fn checked_snapshot(&self, run: &RunId) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let Some(bytes) = self.raw_snapshot(run)? else {
            return Ok(None);
        };
        if let Some(kept) = crate::Kept::parse(&bytes)
            && let Some(entry) = self.raw_entry(run, kept.version)?
            && hash(&entry) == kept.head
        {
            return Ok(Some((kept.version, kept.state.to_vec())));
        }
        self.drop_snapshot(run)?;
        Ok(None)
    }

    /// [`RunStore::save_snapshot`] for every backend: the state, tagged with the
    /// hash of the log entry it was taken at.
    fn keep_snapshot(&self, run: &RunId, version: u64, state: &[u8]) -> Result<(), StoreError> {
        match self.raw_entry(run, version)? {
            Some(entry) => {
                self.put_snapshot(run, crate::Kept::encode(version, &hash(&entry), state))
            }
            None => Ok(()),
        }
    }

    /// Builds the index of pending decisions from the waiting runs' logs, in place of
    /// whatever it held. Returns how many decisions are pending.
    fn rebuild_inbox(&self) -> Result<usize, StoreError> {
        let mut entries = Vec::new();
        for summary in self.summaries_in(baton_core::RunStatus::Waiting)? {
            // A run whose log cannot be read is left out: `host runs` names it.
            let Ok(events) = self.events(&summary.id) else {
                continue;
            };
            if let Some(state) = RunState::fold(&summary.id, &events) {
                entries.extend(baton_core::inbox::entries_of(&state));
            }
        }
        let count = entries.len();
        self.put_inbox(entries)?;
        Ok(count)
    }

    /// A run's log with its hash chain.
    fn audit(&self, run: &RunId) -> Result<Vec<AuditEntry>, StoreError> {
        let mut entries = Vec::new();
        for (version, bytes) in self.raw_log(run)? {
            let (prev, event) = crate::audit::decode(&bytes).map_err(io)?;
            entries.push(AuditEntry {
                version,
                prev,
                hash: hash(&bytes),
                event,
            });
        }
        if entries.is_empty() {
            return Err(StoreError::NoSuchRun(run.clone()));
        }
        Ok(entries)
    }

    /// Checks every run's chain: each entry's `prev` is the hash of the entry before
    /// it, versions run 1, 2, 3... without a gap, every entry parses, and the log is
    /// as long as the run's summary says. Names the first broken link of each run.
    ///
    /// Also compares what it read with what the store acknowledged: fewer runs or
    /// events than the store's count is a loss, whole runs included.
    fn verify(&self) -> Result<Verified, StoreError> {
        let acknowledged = self.counts();
        let mut verified = Verified::default();
        let mut expected = Vec::new();
        for summary in self.summaries()? {
            verified.runs += 1;
            if let Some(broken) = self.verify_run(&summary, &mut verified, &mut expected)? {
                verified.broken.push(broken);
            }
        }
        // The index of pending decisions must say what the logs say; rebuilt if not.
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        let indexed = self.raw_inbox()?;
        let same = |a: &[(InboxKey, InboxEntry)], b: &[(InboxKey, InboxEntry)]| {
            a.len() == b.len()
                && a.iter().zip(b).all(|(a, b)| {
                    a.0 == b.0 && serde_json::to_value(&a.1).ok() == serde_json::to_value(&b.1).ok()
                })
        };
        let counted = self.inbox_page(None, 0)?.total;
        if !same(&indexed, &expected) || counted != expected.len() as u64 {
            verified.inbox_rebuilt = Some(format!(
                "the index of pending decisions listed {} (and counted {counted}) where the logs have {} pending; it was rebuilt",
                indexed.len(),
                expected.len()
            ));
            self.put_inbox(expected)?;
        }
        let found = crate::Counts {
            runs: verified.runs as u64,
            events: verified.events,
            kv_writes: acknowledged.kv_writes,
        };
        verified.loss = match self.lost() {
            Some(loss) => Some(loss),
            None if found.short_of(&acknowledged) => Some(crate::Loss {
                acknowledged,
                found,
                store: self.location(),
            }),
            None => None,
        };
        Ok(verified)
    }

    fn verify_run(
        &self,
        summary: &RunSummary,
        verified: &mut Verified,
        pending: &mut Vec<(InboxKey, InboxEntry)>,
    ) -> Result<Option<BrokenLink>, StoreError> {
        let run = &summary.id;
        let broken = |(version, reason): (u64, String)| {
            Ok(Some(BrokenLink {
                run: run.clone(),
                version,
                reason,
            }))
        };
        let log = match self.raw_log(run) {
            Ok(log) => log,
            Err(e) => return broken((1, format!("the log cannot be read: {e}"))),
        };
        let mut chain = Chain::new(run);
        let mut events = Vec::with_capacity(log.len());
        // Entries past the summary's version were appended after it was read.
        for (version, bytes) in log.iter().filter(|(v, _)| *v <= summary.version) {
            verified.events += 1;
            match chain.next(*version, bytes) {
                Err(at) => return broken(at),
                Ok((prev, event)) => {
                    verified.unchained += u64::from(prev.is_none());
                    events.push(event);
                }
            }
        }
        if let Err(at) = chain.end(summary.version) {
            return broken(at);
        }
        if summary.status == baton_core::RunStatus::Waiting
            && let Some(state) = RunState::fold(run, &events)
        {
            pending.extend(baton_core::inbox::entries_of(&state));
        }
        match self.snapshot_disagrees(run, &log, &events)? {
            Some(true) => verified.snapshots_rebuilt.push(run.clone()),
            Some(false) => verified.snapshots += 1,
            None => {}
        }
        Ok(None)
    }

    /// Whether the run's snapshot differs from what its log folds to (`None` if it
    /// has none); one that does is replaced by the log's fold.
    /// (`log` is the run's entries as read, which `events` were decoded from.)
    fn snapshot_disagrees(
        &self,
        run: &RunId,
        log: &[(u64, Vec<u8>)],
        events: &[RunEvent],
    ) -> Result<Option<bool>, StoreError> {
        let Some(stored) = self.raw_snapshot(run)? else {
            return Ok(None);
        };
        let agrees = crate::Kept::parse(&stored).is_some_and(|kept| {
            (1..=events.len() as u64).contains(&kept.version)
                && hash(&log[kept.version as usize - 1].1) == kept.head
                && RunState::fold(run, &events[..kept.version as usize])
                    .is_some_and(|folded| folded.snapshot() == kept.state)
        });
        if !agrees && let Some(folded) = RunState::fold(run, events) {
            self.keep_snapshot(run, folded.version, &folded.snapshot())?;
        }
        Ok(Some(!agrees))
    }
}

impl SledStore {
    pub(crate) fn log_entries(&self, run: &RunId) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let prefix = run.as_str().as_bytes();
        let mut entries = Vec::new();
        for entry in self.log.scan_prefix(prefix) {
            let (key, bytes) = entry.map_err(io)?;
            let version = key
                .get(prefix.len()..)
                .and_then(|v| <[u8; 8]>::try_from(v).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| io(format!("a log key of run {run} is malformed")))?;
            entries.push((version, bytes.to_vec()));
        }
        Ok(entries)
    }
}
