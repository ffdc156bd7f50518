//! The audit chain: every log entry carries the BLAKE3 of the entry before it, so
//! the log of a run can be exported as evidence and checked for tampering.

use baton_core::{RunEvent, RunId, RunStore, RunSummary, StoreError};
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
    /// What the store acknowledged and no longer holds (`ledger.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<crate::Loss>,
}

impl Verified {
    /// Whether every chain is intact and nothing acknowledged is missing.
    pub fn intact(&self) -> bool {
        self.broken.is_empty() && self.loss.is_none()
    }
}

impl SledStore {
    /// A run's log with its hash chain.
    pub fn audit(&self, run: &RunId) -> Result<Vec<AuditEntry>, StoreError> {
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
    pub fn verify(&self) -> Result<Verified, StoreError> {
        let acknowledged = self.counts();
        let mut verified = Verified::default();
        for summary in self.summaries()? {
            verified.runs += 1;
            if let Some(broken) = self.verify_run(&summary, &mut verified)? {
                verified.broken.push(broken);
            }
        }
        let found = crate::Counts {
            runs: verified.runs as u64,
            events: verified.events,
            kv_writes: acknowledged.kv_writes,
        };
        verified.loss = match self.loss() {
            Some(loss) => Some(loss.clone()),
            None if found.short_of(&acknowledged) => Some(crate::Loss {
                acknowledged,
                found,
                store: self.dir.clone(),
            }),
            None => None,
        };
        Ok(verified)
    }

    fn verify_run(
        &self,
        summary: &RunSummary,
        verified: &mut Verified,
    ) -> Result<Option<BrokenLink>, StoreError> {
        let run = &summary.id;
        let broken = |version: u64, reason: String| {
            Ok(Some(BrokenLink {
                run: run.clone(),
                version,
                reason,
            }))
        };
        let mut expected_prev = genesis(run);
        let mut count = 0;
        let log = match self.raw_log(run) {
            Ok(log) => log,
            Err(e) => return broken(1, format!("the log cannot be read: {e}")),
        };
        // Entries past the summary's version were appended after it was read.
        for (version, bytes) in log {
            if version > summary.version {
                break;
            }
            count += 1;
            verified.events += 1;
            if version != count {
                return broken(
                    count,
                    format!("entry {count} is missing (the next one is {version})"),
                );
            }
            match decode(&bytes) {
                Err(e) => return broken(version, format!("entry {version} does not parse ({e})")),
                Ok((None, _)) => verified.unchained += 1,
                Ok((Some(prev), _)) if prev != expected_prev => {
                    return broken(
                        version,
                        format!(
                            "entry {version} does not link to entry {}: that entry was changed, or this one was moved",
                            version - 1
                        ),
                    );
                }
                Ok(_) => {}
            }
            expected_prev = hash(&bytes);
        }
        if count != summary.version {
            return broken(
                count + 1,
                format!(
                    "the log ends at entry {count} but the run's summary counts {}: entries were removed",
                    summary.version
                ),
            );
        }
        Ok(None)
    }

    pub(crate) fn raw_log(&self, run: &RunId) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
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
