//! What the store has acknowledged, kept where sled's recovery cannot reach it.
//!
//! sled reads its log until the first record that fails its checksum and treats that
//! record as the end: a flipped bit, a lost write or a missing snapshot silently drops
//! everything after it, whole runs included, and every per-run hash chain that is left
//! is still intact. So the store counts what it writes ([`Counts`]: runs created,
//! events appended, kv writes) and, each time a group commit makes writes durable:
//!
//! 1. writes the counts into sled itself (key [`TALLY_KEY`]), then flushes sled, so the
//!    counts sled recovers are always those of the last flush it kept;
//! 2. then writes the same counts to the file `baton-acknowledged` beside sled's files
//!    and syncs it. Only then is anything acknowledged.
//!
//! On open, counts in the file above sled's recovered counts mean sled lost writes the
//! store had acknowledged: the store says how many, instead of listing fewer runs.
//!
//! The file holds two 64-byte slots written in turn, each with a sequence number and a
//! checksum, so a write torn by a crash leaves the other slot to read.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// The key in sled's default tree that holds the counts of the last flush.
pub(crate) const TALLY_KEY: &[u8] = b"baton.tally";

/// The file beside sled's that holds what the store acknowledged.
pub const LEDGER_FILE: &str = "baton-acknowledged";

const MAGIC: &[u8; 8] = b"BATONACK";
const SLOT: u64 = 64;
/// magic, sequence, runs, events, kv writes: 5 x 8 bytes, then an 8-byte checksum.
const BODY: usize = 40;

/// How much the store holds or acknowledged: runs created, events appended to their
/// logs, writes to the plugins' kv data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub runs: u64,
    pub events: u64,
    pub kv_writes: u64,
}

impl Counts {
    pub(crate) fn encode(&self) -> Vec<u8> {
        [self.runs, self.events, self.kv_writes]
            .iter()
            .flat_map(|n| n.to_be_bytes())
            .collect()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Counts> {
        let number = |i: usize| {
            bytes
                .get(i * 8..i * 8 + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
        };
        (bytes.len() == 24).then_some(())?;
        Some(Counts {
            runs: number(0)?,
            events: number(1)?,
            kv_writes: number(2)?,
        })
    }

    /// Whether `self` holds less than `acknowledged` in any count.
    pub fn short_of(&self, acknowledged: &Counts) -> bool {
        self.runs < acknowledged.runs
            || self.events < acknowledged.events
            || self.kv_writes < acknowledged.kv_writes
    }
}

/// Writes acknowledged lost from the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loss {
    pub acknowledged: Counts,
    pub found: Counts,
    /// Where the store is (its directory).
    pub store: String,
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (a, h) = (&self.acknowledged, &self.found);
        let mut missing = Vec::new();
        if h.runs < a.runs {
            missing.push(plural(a.runs - h.runs, "run"));
        }
        if h.events < a.events {
            missing.push(plural(a.events - h.events, "event"));
        }
        if h.kv_writes < a.kv_writes {
            missing.push(plural(a.kv_writes - h.kv_writes, "plugin kv write"));
        }
        write!(
            f,
            "the state store at {} lost data it had acknowledged: {} missing (it acknowledged {} runs and {} events, and holds {} runs and {} events). \
             Its files were damaged or replaced (a flipped bit, a lost write, a missing snapshot). \
             To restore: move the directory aside and `host store import` your latest export into an empty one; \
             to keep what is left: `host store export --to FILE` from this store, then import that into an empty one",
            self.store,
            missing.join(", "),
            a.runs,
            a.events,
            h.runs,
            h.events,
        )
    }
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The counts of what this process wrote to the store, kept as it writes.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    runs: AtomicU64,
    events: AtomicU64,
    kv_writes: AtomicU64,
}

impl Tally {
    pub(crate) fn starting_at(counts: Counts) -> Tally {
        Tally {
            runs: AtomicU64::new(counts.runs),
            events: AtomicU64::new(counts.events),
            kv_writes: AtomicU64::new(counts.kv_writes),
        }
    }

    /// Sets the counts, for a store that was just filled by an import.
    pub(crate) fn reset(&self, counts: Counts) {
        self.runs.store(counts.runs, Ordering::SeqCst);
        self.events.store(counts.events, Ordering::SeqCst);
        self.kv_writes.store(counts.kv_writes, Ordering::SeqCst);
    }

    pub(crate) fn appended(&self, new_run: bool, events: usize) {
        if new_run {
            self.runs.fetch_add(1, Ordering::SeqCst);
        }
        self.events.fetch_add(events as u64, Ordering::SeqCst);
    }

    pub(crate) fn kv_written(&self) {
        self.kv_writes.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn now(&self) -> Counts {
        Counts {
            runs: self.runs.load(Ordering::SeqCst),
            events: self.events.load(Ordering::SeqCst),
            kv_writes: self.kv_writes.load(Ordering::SeqCst),
        }
    }
}

/// The acknowledged-writes file, open for writing.
#[derive(Debug)]
pub(crate) struct Ledger {
    file: Mutex<(File, u64)>,
    path: PathBuf,
}

/// What opening the ledger found.
pub(crate) enum Found {
    /// No file yet (a new store, or one from before the ledger).
    Missing,
    /// A file whose slots are both unreadable.
    Unreadable,
    Counts(Counts),
}

impl Ledger {
    pub(crate) fn open(dir: &Path) -> std::io::Result<(Ledger, Found)> {
        let path = dir.join(LEDGER_FILE);
        let existed = path.exists();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let mut newest: Option<(u64, Counts)> = None;
        for slot in 0..2 {
            let mut bytes = [0u8; BODY + 8];
            if file.read_exact_at(&mut bytes, slot * SLOT).is_err() {
                continue;
            }
            if let Some((seq, counts)) = read_slot(&bytes)
                && newest.is_none_or(|(best, _)| seq > best)
            {
                newest = Some((seq, counts));
            }
        }
        let found = match newest {
            Some((_, counts)) => Found::Counts(counts),
            None if existed && file.metadata()?.len() > 0 => Found::Unreadable,
            None => Found::Missing,
        };
        let seq = newest.map_or(0, |(seq, _)| seq);
        Ok((
            Ledger {
                file: Mutex::new((file, seq)),
                path,
            },
            found,
        ))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `counts` into the older slot and syncs the file.
    pub(crate) fn record(&self, counts: Counts) -> std::io::Result<()> {
        let mut guard = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let seq = guard.1 + 1;
        let mut bytes = Vec::with_capacity(BODY + 8);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&seq.to_be_bytes());
        bytes.extend_from_slice(&counts.encode());
        let sum = checksum(&bytes);
        bytes.extend_from_slice(&sum);
        guard.0.write_all_at(&bytes, (seq % 2) * SLOT)?;
        guard.0.sync_data()?;
        guard.1 = seq;
        Ok(())
    }
}

fn checksum(body: &[u8]) -> [u8; 8] {
    let hash = blake3::hash(body);
    let mut out = [0u8; 8];
    out.copy_from_slice(&hash.as_bytes()[..8]);
    out
}

fn read_slot(bytes: &[u8; BODY + 8]) -> Option<(u64, Counts)> {
    let (body, sum) = bytes.split_at(BODY);
    if &body[..8] != MAGIC || checksum(body) != sum {
        return None;
    }
    let seq = u64::from_be_bytes(body[8..16].try_into().ok()?);
    Some((seq, Counts::decode(&body[16..])?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_whole_slot_is_read_back_and_a_torn_one_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let (ledger, found) = Ledger::open(dir.path()).unwrap();
        assert!(matches!(found, Found::Missing));
        let first = Counts {
            runs: 1,
            events: 3,
            kv_writes: 0,
        };
        let second = Counts {
            runs: 2,
            events: 7,
            kv_writes: 1,
        };
        ledger.record(first).unwrap();
        ledger.record(second).unwrap();
        drop(ledger);
        let (_, found) = Ledger::open(dir.path()).unwrap();
        assert!(matches!(found, Found::Counts(c) if c == second));

        // Tear the newest slot (sequence 2 is in slot 0): the older one is read.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join(LEDGER_FILE))
            .unwrap();
        file.write_all_at(&[0xff; 4], 20).unwrap();
        let (ledger, found) = Ledger::open(dir.path()).unwrap();
        assert!(matches!(found, Found::Counts(c) if c == first));
        // The next record goes over the torn slot's neighbour in turn, and is read.
        ledger.record(second).unwrap();
        let (_, found) = Ledger::open(dir.path()).unwrap();
        assert!(matches!(found, Found::Counts(c) if c == second));

        file.write_all_at(&[0xff; 128], 0).unwrap();
        let (_, found) = Ledger::open(dir.path()).unwrap();
        assert!(matches!(found, Found::Unreadable));
    }

    #[test]
    fn a_loss_says_what_is_missing_and_the_way_out() {
        let loss = Loss {
            acknowledged: Counts {
                runs: 130,
                events: 520,
                kv_writes: 4,
            },
            found: Counts {
                runs: 110,
                events: 440,
                kv_writes: 4,
            },
            store: "/s".into(),
        };
        let text = loss.to_string();
        assert!(text.contains("20 runs, 80 events missing"), "{text}");
        assert!(text.contains("host store import"), "{text}");
        assert!(text.contains("host store export"), "{text}");
    }
}
