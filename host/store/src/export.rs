//! `host store export` and `host store import`: the whole store as JSON Lines, in one
//! versioned format (documented in `docs/store-export.md`), for backups and for moving
//! between stores.
//!
//! ```text
//! {"baton_store_export":1,"exported_at":1764500000000}
//! {"summary":{"id":"01K…","workflow":"lead-followup",…,"version":7}}
//! {"run":"01K…","version":1,"entry":{"prev":"<blake3>","event":{…}}}
//! …                                   (the run's entries 1..version, in order)
//! {"kv":{"scope":"lead-followup/scorer","key":"seen","value":"<base64>"}}
//! {"end":{"runs":1,"events":7,"kv":1}}
//! ```
//!
//! A summary and each entry are copied byte for byte (the entry's bytes are what its
//! successor's `prev` hashes), so an import reproduces every hash chain exactly.
//!
//! An export is consistent while the store is in use: each run is written at the
//! version its summary had when it was read, with exactly the entries up to that
//! version (a log only grows, so those never change). Runs whose log cannot be read
//! or whose chain is broken are left out and named, so that a damaged store can still
//! be salvaged. The last line counts what was written; a file without it was cut short.

use std::io::{BufRead, Write};
use std::path::Path;

use base64::Engine as _;
use baton_core::{RunId, RunStore, RunSummary, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::audit::Chain;
use crate::{SledStore, io, ledger, log_key};

/// The format version this code writes and reads.
pub const EXPORT_FORMAT: u64 = 1;

/// What an export wrote (also its last line, under `end`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exported {
    pub runs: u64,
    pub events: u64,
    pub kv: u64,
    /// Runs left out because their log is damaged: (id, why).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    baton_store_export: u64,
    exported_at: u64,
}

#[derive(Serialize, Deserialize)]
struct Kv {
    scope: String,
    key: String,
    value: String,
}

/// One line after the header.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    #[serde(borrow, default)]
    summary: Option<&'a RawValue>,
    #[serde(default)]
    run: Option<RunId>,
    #[serde(default)]
    version: Option<u64>,
    #[serde(borrow, default)]
    entry: Option<&'a RawValue>,
    #[serde(default)]
    kv: Option<Kv>,
    #[serde(default)]
    end: Option<Exported>,
}

/// Why an import refused its file: where, and what.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}:{line}: {reason}; nothing was imported")]
    Broken {
        file: String,
        line: u64,
        reason: String,
    },
    #[error("{0}")]
    Store(String),
}

impl<S: crate::StoreBackend + ?Sized> Export for S {}

/// Export and import, for every backend.
pub trait Export: crate::StoreBackend {
    /// Writes the whole store to `out` (see the module's documentation).
    fn export(&self, out: &mut dyn Write, exported_at: u64) -> Result<Exported, StoreError> {
        let write = |out: &mut dyn Write, line: &[u8]| -> Result<(), StoreError> {
            out.write_all(line)
                .and_then(|()| out.write_all(b"\n"))
                .map_err(|e| StoreError::Io(format!("cannot write the export: {e}")))
        };
        let header = serde_json::to_vec(&Header {
            baton_store_export: EXPORT_FORMAT,
            exported_at,
        })
        .map_err(io)?;
        write(out, &header)?;
        let mut exported = Exported::default();
        for (id, summary_bytes) in self.raw_summaries()? {
            let summary = match serde_json::from_slice::<RunSummary>(&summary_bytes) {
                Ok(summary) => summary,
                Err(e) => {
                    exported
                        .skipped
                        .push((id, format!("its summary is unreadable: {e}")));
                    continue;
                }
            };
            let entries = match chain_up_to(self, &summary) {
                Ok(entries) => entries,
                Err(why) => {
                    exported.skipped.push((summary.id.to_string(), why));
                    continue;
                }
            };
            let mut line = b"{\"summary\":".to_vec();
            line.extend_from_slice(&summary_bytes);
            line.push(b'}');
            write(out, &line)?;
            for (version, bytes) in entries {
                let mut line = format!(
                    "{{\"run\":\"{}\",\"version\":{version},\"entry\":",
                    summary.id
                )
                .into_bytes();
                line.extend_from_slice(&bytes);
                line.push(b'}');
                write(out, &line)?;
            }
            exported.runs += 1;
            exported.events += summary.version;
        }
        for (scope, key, value) in self.raw_kv()? {
            let kv = Kv {
                scope,
                key,
                value: base64::engine::general_purpose::STANDARD.encode(&value),
            };
            write(
                out,
                &serde_json::to_vec(&serde_json::json!({ "kv": kv })).map_err(io)?,
            )?;
            exported.kv += 1;
        }
        write(
            out,
            &serde_json::to_vec(&serde_json::json!({ "end": exported })).map_err(io)?,
        )?;
        out.flush()
            .map_err(|e| StoreError::Io(format!("cannot write the export: {e}")))?;
        Ok(exported)
    }

    /// Reads an export into this store, which must be empty: checks the whole file
    /// first (format, every chain, the counts at its end) and writes nothing if any
    /// line is wrong; then writes it all and makes it durable.
    fn import(&self, file: &Path) -> Result<Exported, ImportError> {
        let name = file.display().to_string();
        if !self
            .is_empty()
            .map_err(|e| ImportError::Store(e.to_string()))?
        {
            return Err(ImportError::Store(format!(
                "the state store at {} is not empty: import only into an empty store (pass --state with a new directory, or --store with an empty database)",
                self.location()
            )));
        }
        let counted = read_export(file, &name, &mut |_| Ok(()))?;
        self.write_import(
            &mut |each| read_export(file, &name, each).map(drop),
            &counted,
        )?;
        self.rebuild_inbox()
            .map_err(|e| ImportError::Store(e.to_string()))?;
        Ok(counted)
    }
}

impl SledStore {
    /// [`crate::StoreBackend::write_import`] for sled: marked as under way until done.
    pub(crate) fn write_import_here(
        &self,
        replay: &mut crate::export::Replay<'_>,
        counted: &Exported,
    ) -> Result<(), ImportError> {
        self.db
            .insert(IMPORTING_KEY, b"1".as_slice())
            .map_err(|e| ImportError::Store(e.to_string()))?;
        let mut usage: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
        replay(&mut |item| {
            match item {
                Item::Summary(id, bytes) => self.runs.insert(id.as_str().as_bytes(), bytes),
                Item::Entry(id, version, bytes) => self.log.insert(log_key(&id, version), bytes),
                Item::Kv(scope, key, value) => {
                    let counts = usage.entry(scope.clone()).or_default();
                    counts.0 += 1;
                    counts.1 += (key.len() + value.len()) as u64;
                    self.kv.insert(crate::kv::entry_key(&scope, &key), value)
                }
            }
            .map(drop)
            .map_err(|e| e.to_string())
        })?;
        let store = |e: sled::Error| ImportError::Store(e.to_string());
        for (scope, (keys, bytes)) in usage {
            self.kv_usage
                .insert(scope.as_bytes(), crate::kv::encode_usage(keys, bytes))
                .map_err(store)?;
        }
        self.db.remove(IMPORTING_KEY).map_err(store)?;
        self.tally.reset(ledger::Counts {
            runs: counted.runs,
            events: counted.events,
            kv_writes: counted.kv,
        });
        self.sync().map_err(|e| ImportError::Store(e.to_string()))
    }
}

/// A run's entries 1..=summary.version, checked link by link; why not, if the
/// log cannot be read or does not hold together.
fn chain_up_to<S: crate::StoreBackend + ?Sized>(
    store: &S,
    summary: &RunSummary,
) -> Result<Vec<(u64, Vec<u8>)>, String> {
    let mut chain = Chain::new(&summary.id);
    let mut entries = Vec::with_capacity(summary.version as usize);
    for (version, bytes) in store
        .raw_log(&summary.id)
        .map_err(|e| format!("its log cannot be read: {e}"))?
    {
        if version > summary.version {
            break;
        }
        chain.next(version, &bytes).map_err(|(_, why)| why)?;
        entries.push((version, bytes));
    }
    chain.end(summary.version).map_err(|(_, why)| why)?;
    Ok(entries)
}

/// Set while an import writes; a store that still has it on open was left half
/// imported.
pub(crate) const IMPORTING_KEY: &[u8] = b"baton.importing";

/// Takes each item of an import in turn.
pub type Sink<'s> = dyn FnMut(Item<'_>) -> Result<(), String> + 's;

/// Hands every item of an import (checked already) to a sink, in the file's order.
pub type Replay<'r> = dyn FnMut(&mut Sink<'_>) -> Result<(), ImportError> + 'r;

/// One thing an export holds, as it is to be written.
#[derive(Debug)]
pub enum Item<'a> {
    Summary(RunId, &'a [u8]),
    Entry(RunId, u64, &'a [u8]),
    Kv(String, String, Vec<u8>),
}

/// Reads and checks an export, handing each item to `each`; returns the counts.
fn read_export(
    file: &Path,
    name: &str,
    each: &mut dyn FnMut(Item<'_>) -> Result<(), String>,
) -> Result<Exported, ImportError> {
    let opened = std::fs::File::open(file)
        .map_err(|e| ImportError::Store(format!("cannot read {name}: {e}")))?;
    let reader = std::io::BufReader::new(opened);
    let mut counted = Exported::default();
    // The run being read: its id, its summary's version, its chain so far.
    let mut current: Option<(RunId, u64, Chain)> = None;
    let mut seen = std::collections::HashSet::new();
    let mut ended = false;
    let mut number = 0u64;
    for line in reader.split(b'\n') {
        number += 1;
        let at = |reason: String| ImportError::Broken {
            file: name.to_string(),
            line: number,
            reason,
        };
        let line = line.map_err(|e| at(format!("cannot be read: {e}")))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if ended {
            return Err(at("there is more after the `end` line".into()));
        }
        if number == 1 {
            let header: Header = serde_json::from_slice(&line).map_err(|e| {
                at(format!(
                    "not a Baton store export (its first line must be {{\"baton_store_export\":{EXPORT_FORMAT},…}}): {e}"
                ))
            })?;
            if header.baton_store_export != EXPORT_FORMAT {
                return Err(at(format!(
                    "format {} is not one this host reads (it reads {EXPORT_FORMAT}): import it with the Baton that exported it",
                    header.baton_store_export
                )));
            }
            continue;
        }
        let parsed: Line = serde_json::from_slice(&line).map_err(|e| at(format!("{e}")))?;
        let finish_run = |current: &mut Option<(RunId, u64, Chain)>| -> Result<(), String> {
            if let Some((id, version, chain)) = current.take() {
                chain
                    .end(version)
                    .map_err(|(_, why)| format!("run {id}: {why}"))?;
            }
            Ok(())
        };
        match parsed {
            Line {
                summary: Some(raw),
                run: None,
                version: None,
                entry: None,
                kv: None,
                end: None,
            } => {
                finish_run(&mut current).map_err(at)?;
                let summary: RunSummary = serde_json::from_str(raw.get())
                    .map_err(|e| at(format!("a run summary that does not parse: {e}")))?;
                if !seen.insert(summary.id.clone()) {
                    return Err(at(format!("run {} appears twice", summary.id)));
                }
                each(Item::Summary(summary.id.clone(), raw.get().as_bytes())).map_err(at)?;
                counted.runs += 1;
                counted.events += summary.version;
                current = Some((summary.id.clone(), summary.version, Chain::new(&summary.id)));
            }
            Line {
                run: Some(run),
                version: Some(version),
                entry: Some(raw),
                summary: None,
                kv: None,
                end: None,
            } => {
                let Some((id, last, chain)) = current.as_mut() else {
                    return Err(at(format!("an entry of run {run} before its summary")));
                };
                if *id != run {
                    return Err(at(format!(
                        "an entry of run {run} among those of run {id}: each run's entries follow its summary"
                    )));
                }
                if version > *last {
                    return Err(at(format!(
                        "entry {version} of run {run} is past the {last} its summary counts"
                    )));
                }
                chain
                    .next(version, raw.get().as_bytes())
                    .map_err(|(_, why)| at(format!("run {run}: {why}")))?;
                each(Item::Entry(run, version, raw.get().as_bytes())).map_err(at)?;
            }
            Line {
                kv: Some(kv),
                summary: None,
                run: None,
                version: None,
                entry: None,
                end: None,
            } => {
                finish_run(&mut current).map_err(at)?;
                let value = base64::engine::general_purpose::STANDARD
                    .decode(&kv.value)
                    .map_err(|e| at(format!("a kv value that is not base64: {e}")))?;
                if kv.scope.contains('\0') {
                    return Err(at("a kv scope with a NUL byte".into()));
                }
                each(Item::Kv(kv.scope, kv.key, value)).map_err(at)?;
                counted.kv += 1;
            }
            Line {
                end: Some(end),
                summary: None,
                run: None,
                version: None,
                entry: None,
                kv: None,
            } => {
                finish_run(&mut current).map_err(at)?;
                if (end.runs, end.events, end.kv) != (counted.runs, counted.events, counted.kv) {
                    return Err(at(format!(
                        "the file says it holds {} runs, {} events and {} kv entries, but {} runs, {} events and {} kv entries came before this line",
                        end.runs, end.events, end.kv, counted.runs, counted.events, counted.kv
                    )));
                }
                counted.skipped = end.skipped;
                ended = true;
            }
            _ => {
                return Err(at(
                    "a line that is none of summary, entry, kv or end (see docs/store-export.md)"
                        .into(),
                ));
            }
        }
    }
    if number == 0 {
        return Err(ImportError::Broken {
            file: name.to_string(),
            line: 1,
            reason: "the file is empty".into(),
        });
    }
    if !ended {
        return Err(ImportError::Broken {
            file: name.to_string(),
            line: number,
            reason: "the file ends without its `end` line: it was cut short".into(),
        });
    }
    Ok(counted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreBackend;
    use crate::tests::summary;
    use baton_core::{KvQuota, KvStore, RunEvent};

    fn filled(dir: &Path) -> SledStore {
        let store = SledStore::open(dir).unwrap();
        for n in 0..3u64 {
            let run = RunId::generate();
            let started = RunEvent::RunStarted {
                at: n,
                workflow: "w".into(),
                workflow_path: "w.toml".into(),
                workflow_digest: "d".into(),
                plugin_digests: Default::default(),
                input: serde_json::json!({"lead": "Ana\nMüller", "score": 0.1 + n as f64}),
                by: "ana".into(),
            };
            store
                .append(&run, 0, &[started], &summary(&run, 1), &Default::default())
                .unwrap();
            store
                .append(
                    &run,
                    1,
                    &[RunEvent::RunCompleted { at: 9 }],
                    &summary(&run, 2),
                    &Default::default(),
                )
                .unwrap();
        }
        let quota = KvQuota {
            max_keys: 10,
            max_bytes: 1000,
        };
        store.kv_set("w/a", "seen", &[0, 1, 255], quota).unwrap();
        store.kv_set("w/b", "count", b"7", quota).unwrap();
        store.sync().unwrap();
        store
    }

    fn export_to(store: &SledStore, file: &Path) -> Exported {
        let mut out = std::fs::File::create(file).unwrap();
        store.export(&mut out, 42).unwrap()
    }

    #[test]
    fn an_import_reproduces_the_store_byte_for_byte_and_its_chains_verify() {
        let dir = tempfile::tempdir().unwrap();
        let source = filled(&dir.path().join("a"));
        let file = dir.path().join("backup.jsonl");
        let exported = export_to(&source, &file);
        assert_eq!((exported.runs, exported.events, exported.kv), (3, 6, 2));

        let target = SledStore::open(&dir.path().join("b")).unwrap();
        let imported = target.import(&file).unwrap();
        assert_eq!(imported, exported);
        let again = dir.path().join("again.jsonl");
        export_to(&target, &again);
        assert_eq!(
            std::fs::read(&file).unwrap(),
            std::fs::read(&again).unwrap()
        );
        let verified = target.verify().unwrap();
        assert!(verified.intact(), "{verified:?}");
        assert_eq!((verified.runs, verified.events), (3, 6));
        assert_eq!(target.counts(), source.counts());
        assert_eq!(target.kv_get("w/a", "seen").unwrap(), Some(vec![0, 1, 255]));
        // The quotas count what was imported.
        let quota = KvQuota {
            max_keys: 1,
            max_bytes: 1000,
        };
        assert!(target.kv_set("w/a", "other", b"x", quota).is_err());
        for (a, b) in source
            .summaries()
            .unwrap()
            .iter()
            .zip(target.summaries().unwrap())
        {
            assert_eq!(source.audit(&a.id).unwrap(), target.audit(&b.id).unwrap());
        }
        // And into a store that is not empty, nothing.
        let error = target.import(&file).unwrap_err();
        assert!(error.to_string().contains("not empty"), "{error}");
    }

    #[test]
    fn a_broken_file_is_refused_naming_its_line_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let source = filled(&dir.path().join("a"));
        let file = dir.path().join("backup.jsonl");
        export_to(&source, &file);
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();

        let cases: Vec<(String, u64, &str)> = vec![
            // A changed event: the next entry no longer links to it.
            (
                text.replacen("\"by\":\"ana\"", "\"by\":\"eve\"", 1),
                4,
                "does not link",
            ),
            // Cut short.
            (lines[..lines.len() - 1].join("\n"), 12, "cut short"),
            // An entry removed.
            (
                lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != 2)
                    .map(|(_, l)| *l)
                    .collect::<Vec<_>>()
                    .join("\n"),
                3,
                "entry 1 is missing",
            ),
            ("{\"hello\":1}\n".into(), 1, "not a Baton store export"),
        ];
        for (n, (content, line, words)) in cases.into_iter().enumerate() {
            let broken = dir.path().join(format!("broken{n}.jsonl"));
            std::fs::write(&broken, content).unwrap();
            let target = SledStore::open(&dir.path().join(format!("t{n}"))).unwrap();
            let error = target.import(&broken).unwrap_err();
            let text = error.to_string();
            assert!(
                text.contains(&format!("broken{n}.jsonl:{line}:")) && text.contains(words),
                "case {n}: {text}"
            );
            assert!(target.summaries().unwrap().is_empty(), "case {n}");
        }
    }
}
