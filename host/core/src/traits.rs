//! What the engine needs from the world, as traits: the engine is tested with an
//! in-memory store and a fake runner, and runs for real on sled and wasmtime.

use std::future::Future;

use serde::Serialize;
use serde_json::Value;

use crate::event::{RunEvent, Timestamp};
use crate::ids::RunId;
use crate::inbox::{InboxChange, InboxKey, InboxPage};
use crate::llm::StepCall;
use crate::state::RunStatus;

/// Why the store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone appended first; reload the run and decide again.
    #[error(
        "run {run} changed while this command was working on it (expected version {expected}, found {found}); run the command again"
    )]
    Conflict {
        run: RunId,
        expected: u64,
        found: u64,
    },
    /// Another process drives the run (a shared store's lease): it may not be
    /// changed here until that process lets go or its lease runs out.
    #[error(
        "run {run} is being driven by {by} (its lease runs {left_ms} ms more); wait for it to finish, or for the lease to run out if that process is gone"
    )]
    Held {
        run: RunId,
        by: String,
        left_ms: u64,
    },
    #[error("no run {0}")]
    NoSuchRun(RunId),
    #[error("{0}")]
    Io(String),
}

/// A line of `host runs`, kept beside the log so that listing runs does not fold
/// every log.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct RunSummary {
    pub id: RunId,
    pub workflow: String,
    pub status: RunStatus,
    pub started_at: Timestamp,
    pub updated_at: Timestamp,
    pub pending: u32,
    pub version: u64,
    /// When the first of its pending decisions expires, if any has a timeout: lets
    /// `host expire` (and every command) find due runs without reading their logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// What the run is about (its workflow's `summary`), once it rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    /// Auto-approved decisions drawn for a spot check and not yet reviewed: the
    /// inbox lists them even when the run has finished.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub spot_checks: u32,
    /// Why the run's log cannot be read, when a listing found it damaged; set by
    /// whoever lists runs, never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damaged: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Durable, append-only run logs.
pub trait RunStore: Send + Sync {
    /// Appends `events` if the log holds exactly `expected_version` events, and
    /// updates the run's summary in the same atomic write. Returns the new version.
    /// `expected_version` 0 creates the run.
    ///
    /// `inbox` is what the events did to the run's pending decisions
    /// ([`InboxChange::between`]): a store that keeps an index of them writes it in
    /// the same atomic write.
    fn append(
        &self,
        run: &RunId,
        expected_version: u64,
        events: &[RunEvent],
        summary: &RunSummary,
        inbox: &InboxChange,
    ) -> Result<u64, StoreError>;

    /// Pending decisions in inbox order (critical first, then oldest first), up to
    /// `limit` of them after `after`, and how many are pending in all. A store with an
    /// index reads only the page; this default folds every waiting run.
    fn inbox_page(&self, after: Option<&InboxKey>, limit: usize) -> Result<InboxPage, StoreError> {
        let mut entries = Vec::new();
        for summary in self.summaries_in(RunStatus::Waiting)? {
            let events = self.events(&summary.id)?;
            if let Some(state) = crate::RunState::fold(&summary.id, &events) {
                entries.extend(crate::inbox::entries_of(&state));
            }
        }
        Ok(crate::inbox::page_of(entries, after, limit))
    }

    /// Makes every append so far durable (on disk). Decisions are acknowledged only
    /// after this returns.
    fn sync(&self) -> Result<(), StoreError>;

    fn events(&self, run: &RunId) -> Result<Vec<RunEvent>, StoreError>;

    fn summaries(&self) -> Result<Vec<RunSummary>, StoreError>;

    /// The summaries of the runs that are `status` (a shared store answers without
    /// sending every run's).
    fn summaries_in(&self, status: RunStatus) -> Result<Vec<RunSummary>, StoreError> {
        let mut summaries = self.summaries()?;
        summaries.retain(|s| s.status == status);
        Ok(summaries)
    }

    /// The summaries of the runs with spot checks to answer (any status).
    fn summaries_to_check(&self) -> Result<Vec<RunSummary>, StoreError> {
        let mut summaries = self.summaries()?;
        summaries.retain(|s| s.spot_checks > 0);
        Ok(summaries)
    }

    /// When the first pending decision with a timeout falls due, if any does.
    fn next_expiry(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .summaries_in(RunStatus::Waiting)?
            .into_iter()
            .filter_map(|s| s.expires_at)
            .min())
    }

    /// The logs of several runs at once (a store across a network reads them in one
    /// round trip): each run with its events, or why they cannot be read.
    #[allow(clippy::type_complexity)]
    fn events_of(
        &self,
        runs: &[RunId],
    ) -> Result<Vec<(RunId, Result<Vec<RunEvent>, StoreError>)>, StoreError> {
        Ok(runs
            .iter()
            .map(|run| (run.clone(), self.events(run)))
            .collect())
    }

    /// The events after the first `version`, in order.
    fn events_after(&self, run: &RunId, version: u64) -> Result<Vec<RunEvent>, StoreError> {
        let mut events = self.events(run)?;
        Ok(events.split_off((version as usize).min(events.len())))
    }

    /// The newest snapshot of the run's folded state ([`crate::RunState::snapshot`])
    /// and the version it covers, if the store keeps one that still matches the log
    /// (a store discards one that does not). A store without snapshots has none.
    fn snapshot(&self, run: &RunId) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let _ = run;
        Ok(None)
    }

    /// Keeps `state`, the run folded to `version`, in place of an older snapshot.
    /// Only a speed-up: the log stays the truth.
    fn save_snapshot(&self, run: &RunId, version: u64, state: &[u8]) -> Result<(), StoreError> {
        let _ = (run, version, state);
        Ok(())
    }
}

/// Why a plugin call failed, as the engine needs to know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepError {
    pub kind: String,
    pub message: String,
    pub retryable: bool,
}

/// Calls plugins by the names the workflow gives them.
pub trait PluginRunner: Send + Sync {
    /// Calls `plugin` with `input`; `step` carries what the call gets from its run
    /// (recorded exchanges to reuse, the run's model usage, the exchange journal).
    fn invoke(
        &self,
        plugin: &str,
        input: &Value,
        step: StepCall,
    ) -> impl Future<Output = Result<Value, StepError>> + Send;

    /// Checks an operator's edit against the plugin's output schema, or against the
    /// part of it that `pointer` names (e.g. `#/$defs/email`).
    fn check_edit(&self, plugin: &str, pointer: Option<&str>, value: &Value) -> Result<(), String>;
}

/// The time, injectable so that tests can move it.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// Limits of one plugin's key-value data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KvQuota {
    pub max_keys: u64,
    /// Bytes of keys and values together.
    pub max_bytes: u64,
}

impl KvQuota {
    /// Keys a grant allows when it does not say (`keys` in a workflow's `kv` grant).
    pub const DEFAULT_KEYS: u64 = 10_000;
}

/// Why a key-value write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    #[error("{0}")]
    Quota(String),
    #[error("{0}")]
    Store(String),
}

/// Durable key-value data, scoped by the host: `scope` is chosen by the host (the
/// workflow and the plugin's name in it), never by the plugin.
pub trait KvStore: Send + Sync {
    fn kv_get(&self, scope: &str, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    /// Sets `key`, refusing if the scope's keys or bytes would exceed `quota`.
    fn kv_set(&self, scope: &str, key: &str, value: &[u8], quota: KvQuota) -> Result<(), KvError>;
    fn kv_delete(&self, scope: &str, key: &str) -> Result<bool, KvError>;
    /// Keys under `prefix`, sorted, at most `limit`.
    fn kv_list(&self, scope: &str, prefix: &str, limit: usize) -> Result<Vec<String>, KvError>;
}
