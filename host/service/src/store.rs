//! The state store the service works on, with its backend chosen when it is opened:
//! the embedded sled store in a directory (the default), or PostgreSQL (`--store
//! postgres://…`), behind the same traits; plus the crash-test failpoint.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use baton_core::{
    InboxChange, InboxKey, InboxPage, KvStore, RunEvent, RunId, RunStore, RunSummary, StoreError,
};
use baton_store::{
    AuditEntry, Export, Exported, ImportError, OpenError, PgStore, SledStore, StoreBackend,
    Verified,
};

use crate::error::{Result, ServiceError};

/// How long opening waits for another process to release the embedded store.
const LOCK_WAIT: Duration = Duration::from_secs(3);

/// Where the runs live.
#[derive(Clone, Debug)]
enum Backend {
    Embedded(SledStore),
    Postgres(PgStore),
}

/// The state store: the backend, and a failpoint when one is set.
#[derive(Debug)]
pub struct Store {
    backend: Backend,
    failpoint: Option<Failpoint>,
}

/// What a store is opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Runs and decisions: refused when the store lost data it had acknowledged.
    Work,
    /// Reading what is there (verify, export), even from a store that lost data.
    Salvage,
}

impl Store {
    /// Connects to the PostgreSQL store at `url` (a `postgres://` URL), bringing its
    /// schema up to date; applies `BATON_FAILPOINT` when it is set.
    /// Runs this process drives are held under a lease of `lease`, renewed while it
    /// lives ([`baton_store::PgStore`]).
    pub fn open_postgres(url: &str, lease: Duration) -> Result<Store> {
        let pg = PgStore::connect(url, lease).map_err(ServiceError::Host)?;
        tracing::debug!("state store: {}", pg.url());
        Ok(Store {
            backend: Backend::Postgres(pg),
            failpoint: Failpoint::from_env(),
        })
    }

    /// Opens the embedded store in `dir` (creating it) for work, waiting a little for
    /// another process that holds it; applies `BATON_FAILPOINT` when it is set.
    pub fn open_dir(dir: &Path) -> Result<Store> {
        Store::open_dir_for(dir, Purpose::Work)
    }

    /// [`Store::open_dir`] for `purpose`.
    pub fn open_dir_for(dir: &Path, purpose: Purpose) -> Result<Store> {
        tracing::debug!("state store: {}", dir.display());
        let sled = SledStore::open_waiting(dir, LOCK_WAIT).map_err(|e| match e {
            OpenError::InUse { .. } => ServiceError::StoreBusy {
                message: e.to_string(),
            },
            OpenError::DiskFull { .. } => ServiceError::Host(e.to_string()),
            OpenError::Other { .. } => ServiceError::Host(format!(
                "{e}; if the disk is full, free space and try again; otherwise the store is damaged: move {dir} aside (keep it), then restore your latest export into an empty store with `host store import FILE`, or start with an empty one",
                dir = dir.display()
            )),
        })?;
        if let Some(loss) = sled.loss()
            && purpose == Purpose::Work
        {
            return Err(ServiceError::Host(loss.to_string()));
        }
        Ok(Store {
            backend: Backend::Embedded(sled),
            failpoint: Failpoint::from_env(),
        })
    }

    /// A store of its own in `dir`, never failing on purpose (for benchmarks).
    pub fn scratch(dir: &Path) -> Result<Store> {
        let sled = SledStore::open(dir).map_err(|e| ServiceError::Host(e.to_string()))?;
        Ok(Store {
            backend: Backend::Embedded(sled),
            failpoint: None,
        })
    }

    /// What opening the store had to repair, for the operator to read.
    pub fn repairs(&self) -> &[String] {
        match &self.backend {
            Backend::Embedded(sled) => sled.repairs(),
            Backend::Postgres(_) => &[],
        }
    }

    /// The store behind the plugins' `kv` grants.
    pub fn kv(&self) -> Arc<dyn KvStore> {
        match &self.backend {
            Backend::Embedded(sled) => Arc::new(sled.clone()),
            Backend::Postgres(pg) => Arc::new(pg.clone()),
        }
    }

    /// A run's log as audit entries, each with its hash and the hash it links to.
    pub fn audit(&self, run: &RunId) -> Result<Vec<AuditEntry>, StoreError> {
        self.admin().audit(run)
    }

    /// Checks every run's hash chain.
    pub fn verify(&self) -> Result<Verified, StoreError> {
        self.admin().verify()
    }

    /// Writes every run, its log and the plugins' kv data to `out`, as JSON Lines.
    pub fn export(&self, out: &mut dyn std::io::Write, at: u64) -> Result<Exported, StoreError> {
        self.admin().export(out, at)
    }

    /// Reads an export into this store, which must be empty.
    pub fn import(&self, file: &Path) -> Result<Exported, ImportError> {
        self.admin().import(file)
    }

    /// The schema migrations opening applied, and the schema version now; `None`
    /// for the embedded store, which has no schema.
    pub fn schema(&self) -> Option<(Vec<i32>, i32)> {
        match &self.backend {
            Backend::Embedded(_) => None,
            Backend::Postgres(pg) => Some(pg.schema()),
        }
    }

    /// Where the store is, for messages.
    pub fn location(&self) -> String {
        self.admin().location()
    }

    /// Whether several processes may use the store at once (PostgreSQL), rather
    /// than one holding it (the embedded store).
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// The shared store, for what only it can do (claims, leases).
    pub fn shared(&self) -> Result<&PgStore> {
        match &self.backend {
            Backend::Postgres(pg) => Ok(pg),
            Backend::Embedded(_) => Err(ServiceError::Invalid(
                "workers and queued runs need a shared store: pass --store postgres://… (or set BATON_STORE)".into(),
            )),
        }
    }

    fn admin(&self) -> &dyn StoreBackend {
        match &self.backend {
            Backend::Embedded(sled) => sled,
            Backend::Postgres(pg) => pg,
        }
    }

    fn backend(&self) -> &dyn RunStore {
        match &self.backend {
            Backend::Embedded(sled) => sled,
            Backend::Postgres(pg) => pg,
        }
    }
}

impl RunStore for Store {
    fn append(
        &self,
        run: &RunId,
        expected: u64,
        events: &[RunEvent],
        summary: &RunSummary,
        inbox: &InboxChange,
    ) -> Result<u64, StoreError> {
        let version = self
            .backend()
            .append(run, expected, events, summary, inbox)?;
        if let Some(failpoint) = &self.failpoint
            && failpoint.matches(events)
        {
            // The event is on disk, and nothing after it is: die here.
            self.backend().sync()?;
            std::process::abort();
        }
        Ok(version)
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.backend().sync()
    }

    fn events(&self, run: &RunId) -> Result<Vec<RunEvent>, StoreError> {
        self.backend().events(run)
    }

    fn summaries(&self) -> Result<Vec<RunSummary>, StoreError> {
        self.backend().summaries()
    }

    fn summaries_in(&self, status: baton_core::RunStatus) -> Result<Vec<RunSummary>, StoreError> {
        self.backend().summaries_in(status)
    }

    fn next_expiry(&self) -> Result<Option<u64>, StoreError> {
        self.backend().next_expiry()
    }

    #[allow(clippy::type_complexity)]
    fn events_of(
        &self,
        runs: &[RunId],
    ) -> Result<Vec<(RunId, Result<Vec<RunEvent>, StoreError>)>, StoreError> {
        self.backend().events_of(runs)
    }

    fn inbox_page(&self, after: Option<&InboxKey>, limit: usize) -> Result<InboxPage, StoreError> {
        self.backend().inbox_page(after, limit)
    }

    fn events_after(&self, run: &RunId, version: u64) -> Result<Vec<RunEvent>, StoreError> {
        self.backend().events_after(run, version)
    }

    fn snapshot(&self, run: &RunId) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        self.backend().snapshot(run)
    }

    fn save_snapshot(&self, run: &RunId, version: u64, state: &[u8]) -> Result<(), StoreError> {
        self.backend().save_snapshot(run, version, state)
    }
}

/// A crash on purpose, for the crash-safety tests: `BATON_FAILPOINT=after:<event>:<step>`
/// (e.g. `after:step_completed:score`) kills the process the moment that event is
/// on disk and before anything else is, exactly as SIGKILL between two steps would.
#[derive(Debug)]
struct Failpoint {
    event: String,
    step: String,
}

impl Failpoint {
    fn from_env() -> Option<Failpoint> {
        let spec = std::env::var("BATON_FAILPOINT").ok()?;
        let mut parts = spec.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("after"), Some(event), Some(step)) => Some(Failpoint {
                event: event.to_string(),
                step: step.to_string(),
            }),
            _ => None,
        }
    }

    fn matches(&self, events: &[RunEvent]) -> bool {
        events.iter().any(|event| {
            let value = serde_json::to_value(event).unwrap_or_default();
            value["event"] == self.event.as_str() && value["key"]["step"] == self.step.as_str()
        })
    }
}
