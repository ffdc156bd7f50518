//! The PostgreSQL store: the same run logs (with their hash chains), summaries,
//! snapshots and plugin kv data as the embedded store, in tables that any number of
//! `host` processes on any number of machines share.
//!
//! - `baton_runs`: one row per run: its summary as stored (text, copied byte for byte
//!   by export), and the columns queries need (`version`, `status`, `workflow`,
//!   `started_at`).
//! - `baton_log`: `(run, version)` -> the entry's bytes (`{"prev": …, "event": …}`).
//! - `baton_snapshots`, `baton_kv`, `baton_kv_usage`: as in sled (`lib.rs`, `kv.rs`).
//! - `baton_schema`: the migrations applied, by version (`MIGRATIONS`).
//!
//! **Leases.** A run that is being driven (status `running`) belongs to one process
//! at a time: every append by a process takes or renews the run's lease
//! (`lease_owner`, `lease_until`, on the database's clock) and refuses with
//! `StoreError::Held` while another process's lease is live; an append that leaves
//! the run waiting or finished lets go of it. Each process renews the leases it holds
//! every third of the lease, so a killed process's runs become free once its leases
//! run out, and `claim` (a worker's) takes free runnable runs with
//! `FOR UPDATE SKIP LOCKED`. Together with the version check, a process whose lease
//! ran out can never append after another took over.
//!
//! An append is one call of the function `baton_append` (migration 4), so one round
//! trip and one commit: the run's row is locked (`FOR UPDATE`), the lease checked, its
//! version compared with the one the caller read (the same optimistic concurrency as
//! sled's: a writer that read an older version gets `StoreError::Conflict` and writes
//! nothing), the entries written and the summary rewritten. The entries are chained
//! here, onto the newest entry's hash, which this process knows from its last read or
//! write of the run (or reads first): the entry at a version never changes, and the
//! version check refuses an append onto any other. A commit is durable when it
//! returns, so `sync` has nothing left to do.
//!
//! The traits are synchronous (the engine calls them between plugin calls); the client
//! is asynchronous. So the store owns a small runtime of its own that holds the
//! connections (a pool of up to [`POOL_SIZE`], opened as calls need them), and each
//! call hands its work to that runtime and waits for the answer on a channel, which
//! works from inside another runtime too.

use std::sync::Arc;

use baton_core::{
    InboxChange, InboxEntry, InboxKey, InboxPage, KvError, KvQuota, KvStore, RunEvent, RunId,
    RunStatus, RunStore, RunSummary, StoreError,
};
use futures::future::BoxFuture;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls};

/// The database's clock, in milliseconds since the epoch: leases are compared on one
/// clock whichever machines hold them.
macro_rules! now_ms {
    () => {
        "(extract(epoch from clock_timestamp()) * 1000)::bigint"
    };
}

/// The channel of [`Notice`]s, for `concat!` into statements.
macro_rules! channel {
    () => {
        "baton_runs"
    };
}

/// The statements every append and read of a run uses, prepared once per connection.
/// An append is one call of `baton_append` (migration 4): one round trip, one commit.
const APPEND: &str = "SELECT outcome, found, holder, left_ms FROM baton_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
/// A page of the index of pending decisions, in inbox order, after a key.
/// (`sort` is `InboxKey::to_bytes`: byte order is inbox order.)
const INBOX_PAGE: &str =
    "SELECT sort, entry FROM baton_inbox WHERE sort > $1 ORDER BY sort LIMIT $2";
const INBOX_COUNT: &str = "SELECT count(*) FROM baton_inbox";
const ENTRY: &str = "SELECT entry FROM baton_log WHERE run = $1 AND version = $2";
/// A worker's claim, in one statement: the oldest runnable runs nobody holds, skipping
/// those another worker is claiming at the same moment, taken under its lease.
const CLAIM: &str = concat!(
    "UPDATE baton_runs SET lease_owner = $2, lease_until = ",
    now_ms!(),
    " + $3 WHERE id IN (SELECT id FROM baton_runs WHERE status = 'running' \
       AND (lease_owner IS NULL OR lease_until < ",
    now_ms!(),
    ") ORDER BY started_at LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING id"
);
/// Lets go of the runs `$2` holds (only run `$1`, unless it is null): the workers
/// hear of each as it commits.
const LET_GO: &str = concat!(
    "WITH freed AS (UPDATE baton_runs SET lease_owner = NULL, lease_until = NULL \
       WHERE lease_owner = $2 AND ($1::text IS NULL OR id = $1) RETURNING id, status) \
     SELECT pg_notify('",
    channel!(),
    "', id || ' ' || status || ' ' || $2) FROM freed"
);
/// Renews the leases of the runs `$1` drives.
const RENEW: &str = concat!(
    "UPDATE baton_runs SET lease_until = ",
    now_ms!(),
    " + $2 WHERE lease_owner = $1 AND status = 'running'"
);
/// Takes the duty `$1` for `$2` when it is free, its holder's time ran out, or `$2`
/// holds it already.
const HOLD_DUTY: &str = concat!(
    "INSERT INTO baton_duties (name, owner, until_ms) VALUES ($1, $2, ",
    now_ms!(),
    " + $3) ON CONFLICT (name) DO UPDATE SET owner = $2, until_ms = ",
    now_ms!(),
    " + $3 WHERE baton_duties.owner = $2 OR baton_duties.until_ms < ",
    now_ms!(),
    " RETURNING owner"
);
/// The setting `$1`, set to `$2` if it has none yet.
const SETTING: &str = "WITH made AS (INSERT INTO baton_settings (name, value) VALUES ($1, $2) \
       ON CONFLICT (name) DO NOTHING RETURNING value) \
     SELECT value FROM made UNION ALL SELECT value FROM baton_settings WHERE name = $1";
const ENTRIES_AFTER: &str =
    "SELECT entry FROM baton_log WHERE run = $1 AND version > $2 ORDER BY version";
const SNAPSHOT: &str = "SELECT data FROM baton_snapshots WHERE run = $1";

/// The connection, and the statements prepared on it.
struct Conn {
    client: Client,
    prepared: std::collections::HashMap<&'static str, tokio_postgres::Statement>,
}

/// A statement's parameter, moved onto the store's runtime.
type Param = Box<dyn ToSql + Send + Sync>;

use crate::export::Item;
use crate::{Counts, Exported, ImportError, Loss, StoreBackend, audit};

/// The schema, one migration per version, applied in order, each in a transaction.
/// Never change a migration that has shipped: add the next one.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        r#"
CREATE TABLE baton_runs (
    id text PRIMARY KEY,
    version bigint NOT NULL,
    status text NOT NULL,
    workflow text NOT NULL,
    started_at bigint NOT NULL,
    summary text NOT NULL
);
CREATE INDEX baton_runs_status ON baton_runs (status);
CREATE TABLE baton_log (
    run text NOT NULL,
    version bigint NOT NULL,
    entry text NOT NULL,
    PRIMARY KEY (run, version)
);
CREATE TABLE baton_snapshots (
    run text PRIMARY KEY,
    data bytea NOT NULL
);
CREATE TABLE baton_kv (
    scope text NOT NULL,
    key text NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE TABLE baton_kv_usage (
    scope text PRIMARY KEY,
    keys bigint NOT NULL,
    bytes bigint NOT NULL
);
"#,
    ),
    (
        2,
        r#"
ALTER TABLE baton_runs ADD COLUMN lease_owner text, ADD COLUMN lease_until bigint;
CREATE INDEX baton_runs_runnable ON baton_runs (started_at) WHERE status = 'running';
"#,
    ),
    (
        3,
        r#"
CREATE TABLE baton_duties (
    name text PRIMARY KEY,
    owner text NOT NULL,
    until_ms bigint NOT NULL
);
CREATE TABLE baton_settings (
    name text PRIMARY KEY,
    value text NOT NULL
);
"#,
    ),
    (
        4,
        r#"
ALTER TABLE baton_runs ADD COLUMN expires_at bigint;
UPDATE baton_runs SET expires_at = (summary::jsonb ->> 'expires_at')::bigint WHERE status = 'waiting';
CREATE INDEX baton_runs_expiry ON baton_runs (expires_at) WHERE expires_at IS NOT NULL;
CREATE FUNCTION baton_append(
    p_run text, p_expected bigint, p_entries text[], p_status text, p_workflow text,
    p_started_at bigint, p_summary text, p_owner text, p_lease_ms bigint, p_expires_at bigint
) RETURNS TABLE (outcome text, found bigint, holder text, left_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    cur record;
    now_ms bigint := (extract(epoch from clock_timestamp()) * 1000)::bigint;
    driving boolean := p_status = 'running';
BEGIN
    SELECT version, lease_owner, lease_until INTO cur FROM baton_runs WHERE id = p_run FOR UPDATE;
    IF FOUND THEN
        IF cur.lease_owner IS NOT NULL AND cur.lease_until > now_ms AND cur.lease_owner <> p_owner THEN
            RETURN QUERY SELECT 'held'::text, cur.version, cur.lease_owner, cur.lease_until - now_ms;
            RETURN;
        END IF;
        IF cur.version <> p_expected THEN
            RETURN QUERY SELECT 'conflict'::text, cur.version, NULL::text, NULL::bigint;
            RETURN;
        END IF;
    ELSIF p_expected <> 0 THEN
        RETURN QUERY SELECT 'conflict'::text, 0::bigint, NULL::text, NULL::bigint;
        RETURN;
    END IF;
    INSERT INTO baton_log (run, version, entry)
        SELECT p_run, p_expected + t.i, t.e FROM unnest(p_entries) WITH ORDINALITY AS t(e, i);
    INSERT INTO baton_runs (id, version, status, workflow, started_at, summary, lease_owner, lease_until, expires_at)
        VALUES (p_run, p_expected + cardinality(p_entries), p_status, p_workflow, p_started_at, p_summary,
                CASE WHEN driving THEN p_owner END, CASE WHEN driving THEN now_ms + p_lease_ms END,
                CASE WHEN p_status = 'waiting' THEN p_expires_at END)
        ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, status = EXCLUDED.status,
            summary = EXCLUDED.summary, lease_owner = EXCLUDED.lease_owner, lease_until = EXCLUDED.lease_until,
            expires_at = EXCLUDED.expires_at;
    RETURN QUERY SELECT 'ok'::text, p_expected + cardinality(p_entries), NULL::text, NULL::bigint;
END
$$;
"#,
    ),
    (
        5,
        r#"
CREATE TABLE baton_inbox (
    decision text PRIMARY KEY,
    run text NOT NULL,
    sort bytea NOT NULL,
    entry text NOT NULL
);
CREATE INDEX baton_inbox_order ON baton_inbox (sort);
-- A database with no waiting run has nothing to index: mark it built, so that no
-- process builds it on opening (one with waiting runs is built by the first opener).
INSERT INTO baton_settings (name, value)
    SELECT 'inbox', 'built' WHERE NOT EXISTS (SELECT 1 FROM baton_runs WHERE status = 'waiting');
DROP FUNCTION baton_append(text, bigint, text[], text, text, bigint, text, text, bigint, bigint);
CREATE FUNCTION baton_append(
    p_run text, p_expected bigint, p_entries text[], p_status text, p_workflow text,
    p_started_at bigint, p_summary text, p_owner text, p_lease_ms bigint, p_expires_at bigint,
    p_inbox_remove text[], p_inbox_put text[], p_inbox_sort bytea[], p_inbox_entry text[]
) RETURNS TABLE (outcome text, found bigint, holder text, left_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    cur record;
    now_ms bigint := (extract(epoch from clock_timestamp()) * 1000)::bigint;
    driving boolean := p_status = 'running';
BEGIN
    SELECT version, lease_owner, lease_until INTO cur FROM baton_runs WHERE id = p_run FOR UPDATE;
    IF FOUND THEN
        IF cur.lease_owner IS NOT NULL AND cur.lease_until > now_ms AND cur.lease_owner <> p_owner THEN
            RETURN QUERY SELECT 'held'::text, cur.version, cur.lease_owner, cur.lease_until - now_ms;
            RETURN;
        END IF;
        IF cur.version <> p_expected THEN
            RETURN QUERY SELECT 'conflict'::text, cur.version, NULL::text, NULL::bigint;
            RETURN;
        END IF;
    ELSIF p_expected <> 0 THEN
        RETURN QUERY SELECT 'conflict'::text, 0::bigint, NULL::text, NULL::bigint;
        RETURN;
    END IF;
    INSERT INTO baton_log (run, version, entry)
        SELECT p_run, p_expected + t.i, t.e FROM unnest(p_entries) WITH ORDINALITY AS t(e, i);
    INSERT INTO baton_runs (id, version, status, workflow, started_at, summary, lease_owner, lease_until, expires_at)
        VALUES (p_run, p_expected + cardinality(p_entries), p_status, p_workflow, p_started_at, p_summary,
                CASE WHEN driving THEN p_owner END, CASE WHEN driving THEN now_ms + p_lease_ms END,
                CASE WHEN p_status = 'waiting' THEN p_expires_at END)
        ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, status = EXCLUDED.status,
            summary = EXCLUDED.summary, lease_owner = EXCLUDED.lease_owner, lease_until = EXCLUDED.lease_until,
            expires_at = EXCLUDED.expires_at;
    IF cardinality(p_inbox_remove) > 0 THEN
        DELETE FROM baton_inbox WHERE decision = ANY (p_inbox_remove);
    END IF;
    IF cardinality(p_inbox_put) > 0 THEN
        INSERT INTO baton_inbox (decision, run, sort, entry)
            SELECT t.d, p_run, t.s, t.e FROM unnest(p_inbox_put, p_inbox_sort, p_inbox_entry) AS t(d, s, e)
            ON CONFLICT (decision) DO UPDATE SET entry = EXCLUDED.entry, sort = EXCLUDED.sort;
    END IF;
    RETURN QUERY SELECT 'ok'::text, p_expected + cardinality(p_entries), NULL::text, NULL::bigint;
END
$$;
"#,
    ),
];

/// The channel of [`Notice`]s.
const CHANNEL: &str = channel!();

/// Connections each process opens at most (they are opened as calls need them: a
/// command that makes one call at a time uses one).
const POOL_SIZE: usize = 4;

/// Serialises rebuilds of the index of pending decisions between processes.
const INBOX_LOCK: i64 = 0x4241_544f_4e5f_4942;

/// Serialises migrations between processes that start at once.
const MIGRATION_LOCK: i64 = 0x4241_544f_4e5f_4d49;

impl Conn {
    fn new(client: Client) -> Conn {
        Conn {
            client,
            prepared: Default::default(),
        }
    }

    /// `sql`, prepared on this connection the first time.
    async fn statement(
        &mut self,
        sql: &'static str,
    ) -> Result<tokio_postgres::Statement, tokio_postgres::Error> {
        if let Some(statement) = self.prepared.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).await?;
        self.prepared.insert(sql, statement.clone());
        Ok(statement)
    }
}

impl std::ops::Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// A connection taken from the pool, for one call.
type Taken = tokio::sync::OwnedMappedMutexGuard<Option<Conn>, Conn>;

/// The connections of one process: opened as calls need them, up to a number, each
/// used by one call at a time, so that calls from several threads (a server's pages
/// and its decisions, a worker's runs) do not wait for one another's round trips. A
/// lost connection (the server restarted) is opened again, with backoff, when next
/// taken; its prepared statements went with it.
struct Pool {
    slots: Vec<Arc<tokio::sync::Mutex<Option<Conn>>>>,
    turn: std::sync::atomic::AtomicUsize,
    url: Arc<str>,
}

impl Pool {
    fn new(url: Arc<str>, first: Client, size: usize) -> Pool {
        let mut slots = vec![Arc::new(tokio::sync::Mutex::new(Some(Conn::new(first))))];
        slots.extend((1..size.max(1)).map(|_| Arc::new(tokio::sync::Mutex::new(None))));
        Pool {
            slots,
            turn: Default::default(),
            url,
        }
    }

    /// A connection of its own for one call: a free open one, else a free slot
    /// (opened now), else the next in turn once it is free.
    async fn take(&self) -> Result<Taken, String> {
        let free = |open: bool| {
            self.slots
                .iter()
                .find(|slot| slot.try_lock().is_ok_and(|conn| conn.is_some() == open))
                .cloned()
        };
        let slot = match free(true).or_else(|| free(false)) {
            Some(slot) => slot,
            None => {
                let turn = self.turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.slots[turn % self.slots.len()].clone()
            }
        };
        let mut conn = slot.lock_owned().await;
        match conn.as_ref() {
            Some(open) if !open.is_closed() => {}
            lost => {
                let again = lost.is_some();
                *conn = Some(Conn::new(open_with_backoff(&self.url, again).await?));
            }
        }
        tokio::sync::OwnedMutexGuard::try_map(conn, Option::as_mut)
            .map_err(|_| "the PostgreSQL connection was lost".to_string())
    }
}

/// How long a lease lasts unless renewed.
pub const DEFAULT_LEASE: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs and kv data in PostgreSQL.
#[derive(Clone)]
pub struct PgStore {
    pool: Arc<Pool>,
    /// Who this process is in leases: `host@<machine>:<pid>:<random>`.
    owner: Arc<str>,
    lease_ms: i64,
    /// The migrations connecting applied.
    applied: Vec<i32>,
    runtime: Arc<Runtime>,
    /// The URL without its password, for messages.
    shown: String,
    /// What this process changed, to be announced to the others ([`Notice`]).
    outbox: tokio::sync::mpsc::UnboundedSender<String>,
    /// What every process (this one too) announced.
    notices: tokio::sync::broadcast::Sender<Notice>,
    /// How many of this process's notices have not gone out yet.
    unsent: Arc<std::sync::atomic::AtomicUsize>,
    /// Lets go of this process's leases when the last clone goes.
    _leases: Arc<LetGo>,
    /// The hash of the newest entry of the runs this process read or wrote last, by
    /// version: the next append chains onto it without reading it back (an entry
    /// never changes, so a hash known for a version stays true).
    heads: Arc<std::sync::Mutex<Heads>>,
}

/// [`PgStore::heads`], bounded: forgotten whole when it grows past this many runs.
#[derive(Default)]
struct Heads(std::collections::HashMap<RunId, (u64, String)>);

impl Heads {
    const MAX: usize = 10_000;

    fn get(&self, run: &RunId, version: u64) -> Option<String> {
        self.0
            .get(run)
            .filter(|(known, _)| *known == version)
            .map(|(_, head)| head.clone())
    }

    fn set(&mut self, run: &RunId, version: u64, head: String) {
        if self.0.len() >= Heads::MAX && !self.0.contains_key(run) {
            self.0.clear();
        }
        self.0.insert(run.clone(), (version, head));
    }
}

/// When the store goes (the process ends, or stops using it), the runs it still
/// holds are let go at once rather than when their leases run out: a command whose
/// run could not go on (its code changed, say) leaves it free for the next. Only a
/// process that is killed leaves its leases to run out.
struct LetGo {
    pool: Arc<Pool>,
    owner: Arc<str>,
    runtime: Arc<Runtime>,
}

impl Drop for LetGo {
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.0.as_ref() else {
            return;
        };
        let (pool, owner) = (self.pool.clone(), self.owner.clone());
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let client = match pool.take().await {
                Ok(client) => client,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let freed = client.execute(LET_GO, &[&None::<&str>, &&*owner]).await;
            let _ = tx.send(freed.map_err(|e| describe(&e)));
        });
        if let Ok(Err(e)) = rx.recv_timeout(std::time::Duration::from_secs(2)) {
            tracing::debug!("could not let go of this process's runs: {e}");
        }
    }
}

/// A hint that a run changed, sent with `NOTIFY` after the change committed (never
/// inside the transaction, where it would serialise every commit on the
/// notification queue): servers refresh their live pages, workers look for work.
/// Hints can be lost (a connection drops); whoever relies on one also polls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// `run` is now `status` (`running` with no lease: waiting for a worker),
    /// changed by the process `by`.
    Changed {
        run: String,
        status: String,
        by: String,
    },
    /// The listening connection was lost and is back: anything may have changed.
    Reconnected,
}

impl Notice {
    fn payload(run: &str, status: &str, by: &str) -> String {
        format!("{run} {status} {by}")
    }

    fn parse(payload: &str) -> Option<Notice> {
        let mut parts = payload.splitn(3, ' ');
        Some(Notice::Changed {
            run: parts.next()?.to_string(),
            status: parts.next()?.to_string(),
            by: parts.next()?.to_string(),
        })
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgStore({})", self.shown)
    }
}

/// The store's own runtime, shut down without waiting when the store goes (which may
/// be inside another runtime, where waiting is not allowed).
/// Before that, it gives the notices this process queued up to half a second to go
/// out, so that a short command's change shows on the live pages at once.
struct Runtime(
    Option<tokio::runtime::Runtime>,
    Arc<std::sync::atomic::AtomicUsize>,
);

impl Drop for Runtime {
    fn drop(&mut self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
        while self.1.load(std::sync::atomic::Ordering::Acquire) > 0
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// `postgres://user:secret@host/db` as `postgres://user:***@host/db`.
pub fn hide_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

impl PgStore {
    /// Connects to `url` and brings the schema up to date (each migration in a
    /// transaction, under an advisory lock, so that processes starting together apply
    /// it once). A database whose schema is newer than this host knows is refused.
    pub fn connect(url: &str, lease: std::time::Duration) -> Result<PgStore, String> {
        let shown = hide_password(url);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("baton-postgres")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the PostgreSQL client: {e}"))?;
        // Dropped without waiting, whichever way this returns.
        let unsent_count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let runtime = Runtime(Some(runtime), unsent_count.clone());
        let Some(handle) = runtime.0.as_ref().map(|r| r.handle().clone()) else {
            return Err("cannot start the PostgreSQL client".into());
        };
        let url: Arc<str> = url.into();
        let connected = {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let url = url.clone();
            handle.spawn(async move {
                let _ = tx.send(open_connection(&url).await);
            });
            rx.recv()
                .map_err(|_| "the PostgreSQL client stopped".to_string())?
        };
        let client = connected.map_err(|e| {
            format!(
                "cannot connect to the PostgreSQL store at {shown}: {e}; check that the server runs and accepts connections there, and the user, password and database in the URL"
            )
        })?;
        let lease_ms = i64::try_from(lease.as_millis())
            .unwrap_or(i64::MAX)
            .max(100);
        let (outbox, unsent) = tokio::sync::mpsc::unbounded_channel();
        let (notices, _) = tokio::sync::broadcast::channel(1024);
        let owner: Arc<str> = owner_name().into();
        handle.spawn(listen(
            url.clone(),
            owner.clone(),
            notices.clone(),
            unsent,
            unsent_count.clone(),
        ));
        let pool = Arc::new(Pool::new(url.clone(), client, POOL_SIZE));
        let runtime = Arc::new(runtime);
        let mut store = PgStore {
            _leases: Arc::new(LetGo {
                pool: pool.clone(),
                owner: owner.clone(),
                runtime: runtime.clone(),
            }),
            pool,
            owner,
            lease_ms,
            applied: Vec::new(),
            runtime,
            heads: Default::default(),
            shown,
            outbox,
            notices,
            unsent: unsent_count,
        };
        store.applied = store.migrate().map_err(|e| e.to_string())?;
        // A database from before the index of pending decisions builds it once.
        let built = store
            .rows(
                "SELECT value FROM baton_settings WHERE name = 'inbox'",
                vec![],
                |row| row.get::<_, String>(0),
            )
            .map_err(|e| e.to_string())?;
        if built.is_empty() {
            store
                .rebuild_inbox()
                .map_err(|e| format!("cannot build the index of pending decisions: {e}"))?;
        }
        // Renew this process's leases every third of a lease, for as long as it lives.
        let (pool, owner) = (store.pool.clone(), store.owner.clone());
        handle.spawn(async move {
            let every = std::time::Duration::from_millis((lease_ms / 3).max(50) as u64);
            loop {
                tokio::time::sleep(every).await;
                let client = match pool.take().await {
                    Ok(client) => client,
                    Err(e) => {
                        tracing::warn!("cannot renew leases: {e}");
                        continue;
                    }
                };
                let renewed = client.execute(RENEW, &[&&*owner, &lease_ms]).await;
                if let Err(e) = renewed {
                    tracing::warn!("cannot renew leases: {e}");
                }
            }
        });
        Ok(store)
    }

    /// Applies the migrations this database lacks; returns their versions.
    pub fn migrate(&self) -> Result<Vec<i32>, StoreError> {
        self.call(|mut client| {
            Box::pin(async move {
                client
                    .batch_execute(
                        "CREATE TABLE IF NOT EXISTS baton_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                    )
                    .await
                    .or_else(|e| {
                        // Two processes creating it at once: the other one won.
                        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    })?;
                let mut applied = Vec::new();
                for (version, sql) in MIGRATIONS {
                    let tx = client.transaction().await?;
                    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                        .await?;
                    let done = tx
                        .query_opt("SELECT 1 FROM baton_schema WHERE version = $1", &[version])
                        .await?
                        .is_some();
                    if !done {
                        tx.batch_execute(sql).await?;
                        tx.execute("INSERT INTO baton_schema (version) VALUES ($1)", &[version])
                            .await?;
                        applied.push(*version);
                    }
                    tx.commit().await?;
                }
                let newest: Option<i32> = client
                    .query_one("SELECT max(version) FROM baton_schema", &[])
                    .await?
                    .get(0);
                let known = MIGRATIONS.last().map_or(0, |(v, _)| *v);
                if newest.unwrap_or(0) > known {
                    return Err(Failure::Refused(format!(
                        "its schema is version {}, newer than this host knows ({known}): use the Baton that upgraded it, or a newer one",
                        newest.unwrap_or(0)
                    )));
                }
                Ok(applied)
            })
        })
    }

    /// Runs `work` on the store's runtime and waits for it.
    fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(Taken) -> BoxFuture<'static, Result<T, Failure>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let pool = self.pool.clone();
        let Some(runtime) = self.runtime.0.as_ref() else {
            return Err(StoreError::Io("the PostgreSQL client stopped".into()));
        };
        runtime.spawn(async move {
            match pool.take().await {
                Ok(client) => {
                    let _ = tx.send(work(client).await);
                }
                Err(e) => {
                    let _ = tx.send(Err(Failure::Refused(e)));
                }
            }
        });
        match rx.recv() {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(Failure::Refused(why))) => Err(StoreError::Io(why)),
            Ok(Err(Failure::Db(e))) => Err(StoreError::Io(format!(
                "the PostgreSQL store at {}: {}",
                self.shown,
                describe(&e)
            ))),
            Err(_) => Err(StoreError::Io("the PostgreSQL client stopped".into())),
        }
    }

    /// Takes up to `limit` runnable runs (running, and no live lease: new runs
    /// left for workers, or runs whose driver is gone) under this process's lease,
    /// oldest first, skipping rows another worker is claiming at the same moment.
    pub fn claim(&self, limit: usize) -> Result<Vec<RunId>, StoreError> {
        let (owner, lease_ms) = (self.owner.clone(), self.lease_ms);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let ids = self.rows(
            CLAIM,
            vec![
                Box::new(limit),
                Box::new(owner.to_string()),
                Box::new(lease_ms),
            ],
            |row| row.get::<_, String>(0),
        )?;
        Ok(ids.into_iter().filter_map(|id| id.parse().ok()).collect())
    }

    /// Lets go of `run` if this process holds it, so that a worker may take it at once.
    pub fn release(&self, run: &RunId) -> Result<(), StoreError> {
        self.write(
            LET_GO,
            vec![
                Box::new(Some(run.to_string())),
                Box::new(self.owner.to_string()),
            ],
        )
    }

    /// Tells the other processes (after the commit, never inside it) that `run` is
    /// now `status`.
    fn announce(&self, run: &RunId, status: &str) {
        self.unsent
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        if self
            .outbox
            .send(Notice::payload(run.as_str(), status, &self.owner))
            .is_err()
        {
            self.unsent
                .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        }
    }

    /// What every process (this one too) announces from now on: a hint to refresh or
    /// to look for work, never the only way to find it.
    pub fn notices(&self) -> tokio::sync::broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    /// Whether this process holds the duty `name` (applying due timeouts, say) for
    /// the next lease, taking it when it is free or its holder's time ran out: one
    /// process of all those sharing the store does it at a time. Holders let go
    /// when done ([`PgStore::release_duty`]); one that died holds it until its lease
    /// runs out.
    pub fn hold_duty(&self, name: &str) -> Result<bool, StoreError> {
        let held = self.rows(
            HOLD_DUTY,
            vec![
                Box::new(name.to_string()),
                Box::new(self.owner.to_string()),
                Box::new(self.lease_ms),
            ],
            |_| (),
        )?;
        Ok(!held.is_empty())
    }

    /// Lets go of the duty `name` if this process holds it.
    pub fn release_duty(&self, name: &str) -> Result<(), StoreError> {
        self.write(
            "DELETE FROM baton_duties WHERE name = $1 AND owner = $2",
            vec![Box::new(name.to_string()), Box::new(self.owner.to_string())],
        )
    }

    /// The setting `name` every process sharing the store sees, set to `fresh` by
    /// whichever asks first (a server's signing key, say).
    pub fn setting(&self, name: &str, fresh: &str) -> Result<String, StoreError> {
        self.rows(
            SETTING,
            vec![Box::new(name.to_string()), Box::new(fresh.to_string())],
            |row| row.get::<_, String>(0),
        )?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Io(format!("the shared store has no setting {name}")))
    }

    /// Who this process is in leases.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The URL, without its password.
    pub fn url(&self) -> &str {
        &self.shown
    }

    /// The migrations that connecting applied, and the schema version now.
    pub fn schema(&self) -> (Vec<i32>, i32) {
        (
            self.applied.clone(),
            MIGRATIONS.last().map_or(0, |(v, _)| *v),
        )
    }
}

/// Connects, and drives the connection on the current runtime.
async fn open_connection(url: &str) -> Result<Client, String> {
    match tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio_postgres::connect(url, NoTls),
    )
    .await
    {
        Ok(Ok((client, connection))) => {
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!("PostgreSQL connection ended: {e}");
                }
            });
            Ok(client)
        }
        Ok(Err(e)) => Err(describe(&e)),
        Err(_) => Err("no answer within 10 s".to_string()),
    }
}

/// Listens for [`Notice`]s on a connection of its own, and sends this process's
/// (batched: whatever queued while the last batch went out, in one statement), off
/// the connection that commits. Connects again with backoff when the connection is
/// lost, and says [`Notice::Reconnected`] then. Ends when the store goes.
async fn listen(
    url: Arc<str>,
    owner: Arc<str>,
    notices: tokio::sync::broadcast::Sender<Notice>,
    mut unsent: tokio::sync::mpsc::UnboundedReceiver<String>,
    unsent_count: Arc<std::sync::atomic::AtomicUsize>,
) {
    use futures::StreamExt;
    let mut wait = std::time::Duration::from_millis(100);
    let mut first = true;
    loop {
        let connected = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            tokio_postgres::connect(&url, NoTls),
        )
        .await;
        let Ok(Ok((client, mut connection))) = connected else {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(std::time::Duration::from_secs(5));
            continue;
        };
        wait = std::time::Duration::from_millis(100);
        let heard = notices.clone();
        let mut driver = tokio::spawn(async move {
            let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(Ok(message)) = messages.next().await {
                if let tokio_postgres::AsyncMessage::Notification(n) = message
                    && let Some(notice) = Notice::parse(n.payload())
                {
                    let _ = heard.send(notice);
                }
            }
        });
        if client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .await
            .is_err()
        {
            driver.abort();
            continue;
        }
        if !first {
            let _ = notices.send(Notice::Reconnected);
        }
        first = false;
        loop {
            tokio::select! {
                payload = unsent.recv() => {
                    let Some(payload) = payload else {
                        driver.abort();
                        return;
                    };
                    let mut batch = vec![payload];
                    while let Ok(more) = unsent.try_recv() {
                        batch.push(more);
                    }
                    let sent = client
                        .execute(
                            &format!("SELECT pg_notify('{CHANNEL}', p) FROM unnest($1::text[]) AS p"),
                            &[&batch],
                        )
                        .await;
                    unsent_count.fetch_sub(batch.len(), std::sync::atomic::Ordering::AcqRel);
                    if let Err(e) = sent {
                        tracing::debug!("{owner}: notices not sent ({}); they are hints", describe(&e));
                        break;
                    }
                }
                _ = &mut driver => break,
            }
        }
        driver.abort();
    }
}

/// Opens a connection, trying again after 100 ms, 200 ms, 400 ms… up to 5 s between
/// tries, for at most a minute: when the connection was lost (`again`: the server
/// restarted, the network dropped), or a further one is opened while the server is
/// away. What was committed before is there; a call that was under way when the
/// connection went failed, and its caller decides (a run's driver stops, and the run
/// is taken up again once its lease runs out).
async fn open_with_backoff(url: &str, again: bool) -> Result<Client, String> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut wait = std::time::Duration::from_millis(100);
    loop {
        match open_connection(url).await {
            Ok(fresh) => {
                if again {
                    tracing::info!("connected to PostgreSQL again");
                }
                return Ok(fresh);
            }
            Err(e) if tokio::time::Instant::now() + wait > deadline => {
                return Err(format!(
                    "lost the connection to the PostgreSQL store at {} and could not connect again within a minute: {e}",
                    hide_password(url)
                ));
            }
            Err(_) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(5));
            }
        }
    }
}

/// `host@<machine>:<pid>:<4 random hex>`: unique per process, readable in messages.
fn owner_name() -> String {
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    let random = blake3::hash(
        format!("{}{:?}", std::process::id(), std::time::SystemTime::now()).as_bytes(),
    )
    .to_hex();
    format!("host@{machine}:{}:{}", std::process::id(), &random[..4])
}

/// What went wrong in a call on the store's runtime.
enum Failure {
    Db(tokio_postgres::Error),
    Refused(String),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Failure {
        Failure::Db(e)
    }
}

/// A client error in words: the server's message when it sent one.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

fn number(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl RunStore for PgStore {
    fn append(
        &self,
        run: &RunId,
        expected_version: u64,
        events: &[RunEvent],
        summary: &RunSummary,
        inbox: &InboxChange,
    ) -> Result<u64, StoreError> {
        // Chain the entries here, onto the newest one (known from this process's
        // last read or write of the run, or read now), then hand them over in one
        // call that checks the lease and the version, writes, and commits.
        let known = match expected_version {
            0 => Some(audit::genesis(run)),
            _ => self
                .heads
                .lock()
                .ok()
                .and_then(|heads| heads.get(run, expected_version)),
        };
        let mut prev = match known {
            Some(head) => head,
            None => match self.raw_entry(run, expected_version)? {
                Some(bytes) => audit::hash(&bytes),
                // Not there: the call below finds the version moved on.
                None => audit::genesis(run),
            },
        };
        let mut entries = Vec::with_capacity(events.len());
        for event in events {
            let entry = audit::encode(&prev, event).map_err(crate::io)?;
            prev = audit::hash(&entry);
            entries.push(String::from_utf8(entry).map_err(crate::io)?);
        }
        let summary_text = serde_json::to_string(summary).map_err(crate::io)?;
        let status = summary.status.as_str().to_string();
        let (workflow, started_at) = (summary.workflow.clone(), number(summary.started_at));
        let expires_at = summary.expires_at.map(number);
        let (owner, lease_ms) = (self.owner.clone(), self.lease_ms);
        let (id, announced) = (run.clone(), status.clone());
        let expected = number(expected_version);
        let inbox_remove: Vec<String> = inbox.remove.iter().map(|k| k.id.to_string()).collect();
        let inbox_put: Vec<String> = inbox.put.iter().map(|(k, _)| k.id.to_string()).collect();
        let inbox_sort: Vec<Vec<u8>> = inbox.put.iter().map(|(k, _)| k.to_bytes()).collect();
        let inbox_entry = inbox
            .put
            .iter()
            .map(|(_, entry)| serde_json::to_string(entry).map_err(crate::io))
            .collect::<Result<Vec<String>, _>>()?;
        let answer = self.call(move |mut client| {
            Box::pin(async move {
                let append = client.statement(APPEND).await?;
                let row = client
                    .query_one(
                        &append,
                        &[
                            &id.as_str(),
                            &expected,
                            &entries,
                            &status,
                            &workflow,
                            &started_at,
                            &summary_text,
                            &&*owner,
                            &lease_ms,
                            &expires_at,
                            &inbox_remove,
                            &inbox_put,
                            &inbox_sort,
                            &inbox_entry,
                        ],
                    )
                    .await;
                match row {
                    Ok(row) => Ok((
                        row.get::<_, String>(0),
                        row.get::<_, i64>(1) as u64,
                        row.get::<_, Option<String>>(2),
                        row.get::<_, Option<i64>>(3),
                    )),
                    // Another writer created the run first.
                    Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                        Ok(("conflict".to_string(), expected_version + 1, None, None))
                    }
                    Err(e) => Err(e.into()),
                }
            })
        })?;
        match answer {
            (outcome, version, _, _) if outcome == "ok" => {
                if let Ok(mut heads) = self.heads.lock() {
                    heads.set(run, version, prev);
                }
                self.announce(run, &announced);
                Ok(version)
            }
            (outcome, _, Some(by), Some(left)) if outcome == "held" => Err(StoreError::Held {
                run: run.clone(),
                by,
                left_ms: left.max(0) as u64,
            }),
            (_, found, _, _) => Err(StoreError::Conflict {
                run: run.clone(),
                expected: expected_version,
                found,
            }),
        }
    }

    /// A commit is durable when it returns.
    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn events(&self, run: &RunId) -> Result<Vec<RunEvent>, StoreError> {
        let events = self.events_after(run, 0)?;
        if events.is_empty() {
            return Err(StoreError::NoSuchRun(run.clone()));
        }
        Ok(events)
    }

    /// One query for all their entries.
    fn events_of(
        &self,
        runs: &[RunId],
    ) -> Result<Vec<(RunId, Result<Vec<RunEvent>, StoreError>)>, StoreError> {
        let ids: Vec<String> = runs.iter().map(RunId::to_string).collect();
        let rows = self.rows(
            "SELECT run, entry FROM baton_log WHERE run = ANY($1) ORDER BY run, version",
            vec![Box::new(ids)],
            |row| (row.get::<_, String>(0), row.get::<_, String>(1)),
        )?;
        let mut logs: std::collections::HashMap<String, Vec<String>> = Default::default();
        for (run, entry) in rows {
            logs.entry(run).or_default().push(entry);
        }
        Ok(runs
            .iter()
            .map(|run| {
                let events = match logs.remove(run.as_str()) {
                    None => Err(StoreError::NoSuchRun(run.clone())),
                    Some(entries) => entries
                        .iter()
                        .map(|entry| {
                            audit::decode(entry.as_bytes())
                                .map(|(_, event)| event)
                                .map_err(crate::io)
                        })
                        .collect(),
                };
                (run.clone(), events)
            })
            .collect())
    }

    fn events_after(&self, run: &RunId, version: u64) -> Result<Vec<RunEvent>, StoreError> {
        let entries = self.rows(
            ENTRIES_AFTER,
            vec![Box::new(run.to_string()), Box::new(number(version))],
            |row| row.get::<_, String>(0),
        )?;
        if let (Some(last), Ok(mut heads)) = (entries.last(), self.heads.lock()) {
            heads.set(
                run,
                version + entries.len() as u64,
                audit::hash(last.as_bytes()),
            );
        }
        entries
            .iter()
            .map(|entry| {
                audit::decode(entry.as_bytes())
                    .map(|(_, event)| event)
                    .map_err(crate::io)
            })
            .collect()
    }

    fn summaries(&self) -> Result<Vec<RunSummary>, StoreError> {
        self.raw_summaries()?
            .into_iter()
            .map(|(_, bytes)| serde_json::from_slice(&bytes).map_err(crate::io))
            .collect()
    }

    fn summaries_in(&self, status: RunStatus) -> Result<Vec<RunSummary>, StoreError> {
        self.rows(
            "SELECT summary FROM baton_runs WHERE status = $1",
            vec![Box::new(status.as_str().to_string())],
            |row| row.get::<_, String>(0),
        )?
        .iter()
        .map(|text| serde_json::from_str(text).map_err(crate::io))
        .collect()
    }

    /// The summary carries `spot_checks` only when some are due (it is left out at 0).
    fn summaries_to_check(&self) -> Result<Vec<RunSummary>, StoreError> {
        self.rows(
            "SELECT summary FROM baton_runs WHERE (summary::jsonb ->> 'spot_checks') IS NOT NULL",
            vec![],
            |row| row.get::<_, String>(0),
        )?
        .iter()
        .map(|text| serde_json::from_str(text).map_err(crate::io))
        .collect()
    }

    /// From the `baton_inbox` table, kept by every append, through its index.
    fn inbox_page(&self, after: Option<&InboxKey>, limit: usize) -> Result<InboxPage, StoreError> {
        let after = after.map(InboxKey::to_bytes).unwrap_or_default();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.call(move |mut client| {
            Box::pin(async move {
                let page = client.statement(INBOX_PAGE).await?;
                let count = client.statement(INBOX_COUNT).await?;
                let params: [&(dyn ToSql + Sync); 2] = [&after, &limit];
                let (rows, total) = futures::try_join!(
                    client.query(&page, &params),
                    client.query_one(&count, &[]),
                )?;
                let mut entries = Vec::with_capacity(rows.len());
                for row in rows {
                    let sort = row.get::<_, Vec<u8>>(0);
                    let key = InboxKey::from_bytes(&sort).ok_or_else(|| {
                        Failure::Refused("the index of pending decisions holds a malformed key; run `host audit --verify` to rebuild it".into())
                    })?;
                    let entry = serde_json::from_str(&row.get::<_, String>(1)).map_err(|e| {
                        Failure::Refused(format!("the index of pending decisions: {e}"))
                    })?;
                    entries.push((key, entry));
                }
                Ok(InboxPage {
                    entries,
                    total: total.get::<_, i64>(0) as u64,
                })
            })
        })
    }

    /// From the `expires_at` column (kept for waiting runs by every append), through
    /// its index: a server asks after every change it makes.
    fn next_expiry(&self) -> Result<Option<u64>, StoreError> {
        let rows = self.rows(
            "SELECT min(expires_at) FROM baton_runs WHERE expires_at IS NOT NULL",
            vec![],
            |row| row.get::<_, Option<i64>>(0),
        )?;
        Ok(rows.into_iter().flatten().next().map(|at| at.max(0) as u64))
    }

    fn snapshot(&self, run: &RunId) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        self.checked_snapshot(run)
    }

    fn save_snapshot(&self, run: &RunId, version: u64, state: &[u8]) -> Result<(), StoreError> {
        self.keep_snapshot(run, version, state)
    }
}

impl PgStore {
    /// One write outside a transaction: `sql` (prepared once per connection) with
    /// `params`.
    fn write(&self, sql: &'static str, params: Vec<Param>) -> Result<(), StoreError> {
        self.rows(sql, params, |_| ()).map(drop)
    }

    /// One read: `sql` (prepared once per connection) with `params`, each row
    /// through `map`.
    fn rows<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Param>,
        map: fn(&tokio_postgres::Row) -> T,
    ) -> Result<Vec<T>, StoreError> {
        self.call(move |mut client| {
            Box::pin(async move {
                let statement = client.statement(sql).await?;
                let params: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
                Ok(client
                    .query(&statement, &params)
                    .await?
                    .iter()
                    .map(map)
                    .collect())
            })
        })
    }
}

impl StoreBackend for PgStore {
    fn raw_log(&self, run: &RunId) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.rows(
            "SELECT version, entry FROM baton_log WHERE run = $1 ORDER BY version",
            vec![Box::new(run.to_string())],
            |row| {
                (
                    row.get::<_, i64>(0) as u64,
                    row.get::<_, String>(1).into_bytes(),
                )
            },
        )
    }

    fn raw_summaries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.rows(
            "SELECT id, summary FROM baton_runs ORDER BY id COLLATE \"C\"",
            vec![],
            |row| (row.get(0), row.get::<_, String>(1).into_bytes()),
        )
    }

    fn raw_kv(&self) -> Result<Vec<(String, String, Vec<u8>)>, StoreError> {
        self.rows(
            "SELECT scope, key, value FROM baton_kv ORDER BY scope COLLATE \"C\", key COLLATE \"C\"",
            vec![],
            |row| (row.get(0), row.get(1), row.get(2)),
        )
    }

    fn raw_entry(&self, run: &RunId, version: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self.rows(
            ENTRY,
            vec![Box::new(run.to_string()), Box::new(number(version))],
            |row| row.get::<_, String>(0).into_bytes(),
        )?;
        Ok(rows.into_iter().next())
    }

    fn raw_inbox(&self) -> Result<Vec<(InboxKey, InboxEntry)>, StoreError> {
        Ok(self.inbox_page(None, usize::MAX)?.entries)
    }

    fn put_inbox(&self, entries: Vec<(InboxKey, InboxEntry)>) -> Result<(), StoreError> {
        let rows = entries
            .iter()
            .map(|(key, entry)| {
                Ok((
                    key.id.to_string(),
                    key.id.run.to_string(),
                    key.to_bytes(),
                    serde_json::to_string(entry).map_err(crate::io)?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.call(move |mut client| {
            Box::pin(async move {
                let tx = client.transaction().await?;
                // One rebuild at a time, across processes.
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&INBOX_LOCK])
                    .await?;
                tx.execute("DELETE FROM baton_inbox", &[]).await?;
                for (decision, run, sort, entry) in &rows {
                    tx.execute(
                        "INSERT INTO baton_inbox (decision, run, sort, entry) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (decision) DO UPDATE SET sort = EXCLUDED.sort, entry = EXCLUDED.entry",
                        &[decision, run, sort, entry],
                    )
                    .await?;
                }
                tx.execute(
                    "INSERT INTO baton_settings (name, value) VALUES ('inbox', 'built') ON CONFLICT (name) DO NOTHING",
                    &[],
                )
                .await?;
                tx.commit().await?;
                Ok(())
            })
        })
    }

    fn put_snapshot(&self, run: &RunId, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.write(
            "INSERT INTO baton_snapshots (run, data) VALUES ($1, $2) ON CONFLICT (run) DO UPDATE SET data = $2",
            vec![Box::new(run.to_string()), Box::new(bytes)],
        )
    }

    fn drop_snapshot(&self, run: &RunId) -> Result<(), StoreError> {
        self.write(
            "DELETE FROM baton_snapshots WHERE run = $1",
            vec![Box::new(run.to_string())],
        )
    }

    fn raw_snapshot(&self, run: &RunId) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self.rows(SNAPSHOT, vec![Box::new(run.to_string())], |row| row.get(0))?;
        Ok(rows.into_iter().next())
    }

    /// What the tables hold. PostgreSQL's own log keeps what it acknowledged, so
    /// there is no separate record to compare with.
    fn counts(&self) -> Counts {
        self.call(|client| {
            Box::pin(async move {
                let row = client
                    .query_one(
                        "SELECT count(*), coalesce(sum(version), 0)::bigint, (SELECT count(*) FROM baton_kv) FROM baton_runs",
                        &[],
                    )
                    .await?;
                Ok(Counts {
                    runs: row.get::<_, i64>(0) as u64,
                    events: row.get::<_, i64>(1) as u64,
                    kv_writes: row.get::<_, i64>(2) as u64,
                })
            })
        })
        .unwrap_or_default()
    }

    fn lost(&self) -> Option<Loss> {
        None
    }

    fn location(&self) -> String {
        self.shown.clone()
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        self.call(|client| {
            Box::pin(async move {
                Ok(client
                    .query_one(
                        "SELECT NOT EXISTS (SELECT 1 FROM baton_runs) AND NOT EXISTS (SELECT 1 FROM baton_kv)",
                        &[],
                    )
                    .await?
                    .get(0))
            })
        })
    }

    /// One transaction for the whole import: it is all there, or none of it.
    fn write_import(
        &self,
        replay: &mut crate::export::Replay<'_>,
        _counted: &Exported,
    ) -> Result<(), ImportError> {
        // id, version, status, workflow, started_at, summary, expires_at
        type Row = (String, i64, String, String, i64, String, Option<i64>);
        let mut runs: Vec<Row> = Vec::new();
        let mut entries: Vec<(String, i64, String)> = Vec::new();
        let mut kv: Vec<(String, String, Vec<u8>)> = Vec::new();
        replay(&mut |item| {
            match item {
                Item::Summary(id, bytes) => {
                    let summary: RunSummary =
                        serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
                    runs.push((
                        id.to_string(),
                        number(summary.version),
                        summary.status.as_str().to_string(),
                        summary.workflow,
                        number(summary.started_at),
                        String::from_utf8_lossy(bytes).into_owned(),
                        summary
                            .expires_at
                            .filter(|_| summary.status == RunStatus::Waiting)
                            .map(number),
                    ));
                }
                Item::Entry(id, version, bytes) => entries.push((
                    id.to_string(),
                    number(version),
                    String::from_utf8_lossy(bytes).into_owned(),
                )),
                Item::Kv(scope, key, value) => kv.push((scope, key, value)),
            }
            Ok(())
        })?;
        self.call(move |mut client| {
            Box::pin(async move {
                let tx = client.transaction().await?;
                let insert = tx
                    .prepare("INSERT INTO baton_runs (id, version, status, workflow, started_at, summary, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .await?;
                for (id, version, status, workflow, started_at, summary, expires_at) in &runs {
                    tx.execute(
                        &insert,
                        &[id, version, status, workflow, started_at, summary, expires_at],
                    )
                    .await?;
                }
                let insert = tx
                    .prepare("INSERT INTO baton_log (run, version, entry) VALUES ($1, $2, $3)")
                    .await?;
                for (run, version, entry) in &entries {
                    tx.execute(&insert, &[run, version, entry]).await?;
                }
                let mut usage: std::collections::BTreeMap<&str, (i64, i64)> = Default::default();
                let insert = tx
                    .prepare("INSERT INTO baton_kv (scope, key, value) VALUES ($1, $2, $3)")
                    .await?;
                for (scope, key, value) in &kv {
                    tx.execute(&insert, &[scope, key, value]).await?;
                    let counts = usage.entry(scope.as_str()).or_default();
                    counts.0 += 1;
                    counts.1 += (key.len() + value.len()) as i64;
                }
                for (scope, (keys, bytes)) in usage {
                    tx.execute(
                        "INSERT INTO baton_kv_usage (scope, keys, bytes) VALUES ($1, $2, $3)",
                        &[&scope, &keys, &bytes],
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            })
        })
        .map_err(|e| ImportError::Store(e.to_string()))
    }
}

fn kv_error(e: StoreError) -> KvError {
    match e {
        StoreError::Io(message) => KvError::Store(message),
        other => KvError::Store(other.to_string()),
    }
}

impl KvStore for PgStore {
    fn kv_get(&self, scope: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.rows(
            "SELECT value FROM baton_kv WHERE scope = $1 AND key = $2",
            vec![Box::new(scope.to_string()), Box::new(key.to_string())],
            |row| row.get(0),
        )
        .map(|rows| rows.into_iter().next())
        .map_err(kv_error)
    }

    fn kv_set(&self, scope: &str, key: &str, value: &[u8], quota: KvQuota) -> Result<(), KvError> {
        let (scope, key, value) = (scope.to_string(), key.to_string(), value.to_vec());
        let refused = self.call(move |mut client| {
            Box::pin(async move {
                let tx = client.transaction().await?;
                tx.execute(
                    "INSERT INTO baton_kv_usage (scope, keys, bytes) VALUES ($1, 0, 0) ON CONFLICT DO NOTHING",
                    &[&scope],
                )
                .await?;
                let row = tx
                    .query_one(
                        "SELECT keys, bytes FROM baton_kv_usage WHERE scope = $1 FOR UPDATE",
                        &[&scope],
                    )
                    .await?;
                let (keys, bytes) = (row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64);
                let old: Option<Vec<u8>> = tx
                    .query_opt(
                        "SELECT value FROM baton_kv WHERE scope = $1 AND key = $2",
                        &[&scope, &key],
                    )
                    .await?
                    .map(|row| row.get(0));
                let old_size = old.as_ref().map_or(0, |v| (key.len() + v.len()) as u64);
                let new_keys = keys + u64::from(old.is_none());
                let new_bytes = bytes - old_size.min(bytes) + (key.len() + value.len()) as u64;
                if new_keys > quota.max_keys {
                    return Ok(Some(format!("key quota reached: {} keys allowed", quota.max_keys)));
                }
                if new_bytes > quota.max_bytes {
                    return Ok(Some(format!(
                        "byte quota reached: {new_bytes} bytes would exceed {} bytes",
                        quota.max_bytes
                    )));
                }
                tx.execute(
                    "INSERT INTO baton_kv (scope, key, value) VALUES ($1, $2, $3) ON CONFLICT (scope, key) DO UPDATE SET value = $3",
                    &[&scope, &key, &value],
                )
                .await?;
                tx.execute(
                    "UPDATE baton_kv_usage SET keys = $2, bytes = $3 WHERE scope = $1",
                    &[&scope, &number(new_keys), &number(new_bytes)],
                )
                .await?;
                tx.commit().await?;
                Ok(None)
            })
        })
        .map_err(kv_error)?;
        match refused {
            Some(why) => Err(KvError::Quota(why)),
            None => Ok(()),
        }
    }

    fn kv_delete(&self, scope: &str, key: &str) -> Result<bool, KvError> {
        let (scope, key) = (scope.to_string(), key.to_string());
        self.call(move |mut client| {
            Box::pin(async move {
                let tx = client.transaction().await?;
                let Some(row) = tx
                    .query_opt(
                        "DELETE FROM baton_kv WHERE scope = $1 AND key = $2 RETURNING value",
                        &[&scope, &key],
                    )
                    .await?
                else {
                    return Ok(false);
                };
                let size = (key.len() + row.get::<_, &[u8]>(0).len()) as i64;
                tx.execute(
                    "UPDATE baton_kv_usage SET keys = greatest(keys - 1, 0), bytes = greatest(bytes - $2, 0) WHERE scope = $1",
                    &[&scope, &size],
                )
                .await?;
                tx.commit().await?;
                Ok(true)
            })
        })
        .map_err(kv_error)
    }

    fn kv_list(&self, scope: &str, prefix: &str, limit: usize) -> Result<Vec<String>, KvError> {
        self.rows(
            "SELECT key FROM baton_kv WHERE scope = $1 AND starts_with(key, $2) ORDER BY key COLLATE \"C\" LIMIT $3",
            vec![
                Box::new(scope.to_string()),
                Box::new(prefix.to_string()),
                Box::new(i64::try_from(limit).unwrap_or(i64::MAX)),
            ],
            |row| row.get(0),
        )
        .map_err(kv_error)
    }
}
