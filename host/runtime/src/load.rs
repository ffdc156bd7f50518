//! Turning a file into a loaded plugin: read, recognise, compile or fetch from the
//! cache, check the contract, pre-instantiate, and ask the plugin to describe itself.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::cache::{Digest, Lookup};
use crate::error::{ErrorKind, LoadError, PluginError};
use crate::{Runtime, RuntimeInner};

/// The contract this host speaks; plugins built against any `0.1.x` load.
pub const CONTRACT_VERSION: &str = "0.1.0";
const TOOL_INTERFACE: &str = "baton:plugin/tool";

/// How a component's machine code was obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from a verified cache entry.
    Hit,
    /// Compiled (no entry yet) and stored in the cache.
    Compiled,
    /// An entry existed but failed its integrity check or did not load; recompiled.
    Recompiled { reason: String },
    /// Compiled; the runtime has no cache directory.
    Uncached,
}

/// A component that compiled, before it was checked against the contract.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) component: Component,
    pub(crate) digest: Digest,
    pub(crate) size: usize,
    pub(crate) cache: CacheOutcome,
    pub(crate) compile_time: Duration,
    /// What the component said in `describe` when the cache last loaded it.
    pub(crate) description: Option<Vec<u8>>,
    /// The same code, already loaded by a plugin of this runtime that is alive.
    pub(crate) reuse: Option<std::sync::Arc<crate::plugin::Compiled>>,
}

/// Reads and recognises a file. Runs on a blocking thread.
pub(crate) fn read_component(path: &Path) -> Result<Vec<u8>, LoadError> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => LoadError::NotFound {
            path: path.to_path_buf(),
        },
        _ => LoadError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
    })?;
    recognise(path, &bytes)?;
    Ok(bytes)
}

/// Tells a component from a core module, an empty file or something else entirely by
/// its header, so each gets a message that says what to do.
fn recognise(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    let path = path.to_path_buf();
    if bytes.is_empty() {
        return Err(LoadError::Empty { path });
    }
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(LoadError::NotWasm { path });
    }
    // Bytes 4..8: version and layer. Core modules are version 1, layer 0; components
    // use layer 1.
    match (bytes[4..6] == [1, 0], bytes[6..8] == [0, 0]) {
        (true, true) => Err(LoadError::CoreModule { path }),
        _ if bytes[6..8] == [1, 0] => Ok(()),
        _ => Err(LoadError::Invalid {
            path,
            reason: format!("unknown WebAssembly version or layer {:02x?}", &bytes[4..8]),
        }),
    }
}

impl RuntimeInner {
    /// The code of `digest`, if a plugin of this runtime holding it is alive.
    pub(crate) fn loaded(
        &self,
        digest: &Digest,
    ) -> Option<std::sync::Arc<crate::plugin::Compiled>> {
        let loaded = self.loaded.lock().ok()?;
        loaded.get(digest)?.upgrade()
    }

    /// `digest` prepared from the code a live plugin of this runtime already holds.
    fn reused(
        &self,
        digest: Digest,
        size: usize,
        outcome: CacheOutcome,
        started: Instant,
    ) -> Option<Prepared> {
        let compiled = self.loaded(&digest)?;
        let mut prepared = prepared(
            compiled.component.clone(),
            digest,
            size,
            outcome,
            None,
            started,
        );
        prepared.reuse = Some(compiled);
        Some(prepared)
    }

    /// Keeps a weak reference to `compiled` for later loads of the same code; entries
    /// whose plugins are gone are dropped as it goes.
    pub(crate) fn remember(
        &self,
        digest: Digest,
        compiled: &std::sync::Arc<crate::plugin::Compiled>,
    ) {
        if let Ok(mut loaded) = self.loaded.lock() {
            loaded.retain(|_, weak| weak.strong_count() > 0);
            loaded.insert(digest, std::sync::Arc::downgrade(compiled));
        }
    }

    /// Loads the component file at `path`: straight from the cache when the cache
    /// knows this version of the file (same path and stamp) and holds its verified
    /// artifact, without reading the component; otherwise reads, recognises and
    /// prepares it, and remembers its digest. Blocking: call from a blocking thread.
    pub(crate) fn prepare_file(&self, path: &Path) -> Result<Prepared, LoadError> {
        let started = Instant::now();
        let known = self.cache.as_ref().and_then(|cache| {
            let canonical = std::fs::canonicalize(path).ok()?;
            let meta = std::fs::metadata(&canonical).ok()?;
            Some((cache, canonical, meta))
        });
        let mut looked_up = None;
        if let Some((cache, canonical, meta)) = &known
            && let Some(digest) = cache.known_source(canonical, meta)
        {
            if let Some(prepared) =
                self.reused(digest, meta.len() as usize, CacheOutcome::Hit, started)
            {
                return Ok(prepared);
            }
            match cache.lookup(&self.engine, &digest) {
                Lookup::Hit(component, description) => {
                    let size = meta.len() as usize;
                    return Ok(prepared(
                        component,
                        digest,
                        size,
                        CacheOutcome::Hit,
                        description,
                        started,
                    ));
                }
                // Kept, so that `prepare` does not check the same entry again.
                lookup => looked_up = Some((digest, lookup)),
            }
        }
        let bytes = read_component(path)?;
        let prepared = self.prepare(path, &bytes, looked_up)?;
        if let Some((cache, canonical, meta)) = &known {
            cache.remember_source(canonical, meta, &prepared.digest);
        }
        Ok(prepared)
    }

    /// Compiles `bytes`, or loads their verified precompiled form from the cache.
    /// `looked_up` is a lookup already made for a digest these bytes were expected to
    /// have; it is used when they do. Blocking: call from a blocking thread.
    pub(crate) fn prepare(
        &self,
        path: &Path,
        bytes: &[u8],
        looked_up: Option<(Digest, Lookup)>,
    ) -> Result<Prepared, LoadError> {
        let started = Instant::now();
        let digest = Digest::of(bytes);
        let size = bytes.len();
        let outcome = match self.cache {
            Some(_) => CacheOutcome::Hit,
            None => CacheOutcome::Uncached,
        };
        if let Some(prepared) = self.reused(digest, size, outcome, started) {
            return Ok(prepared);
        }
        let Some(cache) = &self.cache else {
            let component = compile_telling(&self.engine, path, bytes, self.progress.as_ref())?;
            let outcome = CacheOutcome::Uncached;
            return Ok(prepared(component, digest, size, outcome, None, started));
        };
        let lookup = match looked_up {
            Some((expected, lookup)) if expected == digest => lookup,
            _ => cache.lookup(&self.engine, &digest),
        };
        let outcome = match lookup {
            Lookup::Hit(component, description) => {
                return Ok(prepared(
                    component,
                    digest,
                    size,
                    CacheOutcome::Hit,
                    description,
                    started,
                ));
            }
            Lookup::Miss => CacheOutcome::Compiled,
            Lookup::Rejected(reason) => {
                tracing::warn!("ignoring a precompiled cache entry and recompiling: {reason}");
                CacheOutcome::Recompiled { reason }
            }
        };
        let component = compile_telling(&self.engine, path, bytes, self.progress.as_ref())?;
        match component.serialize() {
            Ok(artifact) => {
                if let Err(e) = cache.store(&digest, &artifact) {
                    tracing::warn!(
                        "could not write to the component cache in {}: {e}; the next load will compile again",
                        cache.dir().display()
                    );
                }
            }
            Err(e) => tracing::warn!("could not serialise {} for the cache: {e}", path.display()),
        }
        Ok(prepared(component, digest, size, outcome, None, started))
    }
}

fn prepared(
    component: Component,
    digest: Digest,
    size: usize,
    cache: CacheOutcome,
    description: Option<Vec<u8>>,
    started: Instant,
) -> Prepared {
    Prepared {
        component,
        digest,
        size,
        cache,
        compile_time: started.elapsed(),
        description,
        reuse: None,
    }
}

/// [`compile`], saying on `progress` when it takes longer than `progress.after` and
/// when it ends, so that a person waiting on a large plugin's first use sees why.
fn compile_telling(
    engine: &Engine,
    path: &Path,
    bytes: &[u8],
    progress: Option<&crate::Progress>,
) -> Result<Component, LoadError> {
    let Some(progress) = progress else {
        return compile(engine, path, bytes);
    };
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let started = Instant::now();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let name = &name;
        let waiting = scope.spawn(move || {
            if finished.recv_timeout(progress.after).is_ok() {
                return false;
            }
            (progress.tell)(&format!(
                "  .. compiling plugin {name} ({:.1} MB) for its first use; later loads come from the cache",
                bytes.len() as f64 / 1e6
            ));
            true
        });
        let compiled = compile(engine, path, bytes);
        let _ = done.send(());
        if waiting.join().unwrap_or(false) {
            (progress.tell)(&format!(
                "  .. compiled plugin {name} in {:.1?}",
                started.elapsed()
            ));
        }
        compiled
    })
}

fn compile(engine: &Engine, path: &Path, bytes: &[u8]) -> Result<Component, LoadError> {
    Component::new(engine, bytes).map_err(|e| {
        let reason = format!("{e:#}");
        let path = path.to_path_buf();
        if reason.contains("pooling allocator requirements") {
            LoadError::OverHostLimits { path, reason }
        } else {
            LoadError::Invalid { path, reason }
        }
    })
}

/// The names a component imports and exports, e.g. `wasi:cli/environment@0.2.6`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Interfaces {
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

pub(crate) fn interfaces(engine: &Engine, component: &Component) -> Interfaces {
    let ty = component.component_type();
    Interfaces {
        imports: ty
            .imports(engine)
            .map(|(name, _)| name.to_string())
            .collect(),
        exports: ty
            .exports(engine)
            .map(|(name, _)| name.to_string())
            .collect(),
    }
}

/// Finds the `baton:plugin/tool` export and checks its contract version; returns it,
/// e.g. `0.1.0`.
pub(crate) fn contract_version(interfaces: &Interfaces) -> Result<String, LoadError> {
    let Some(export) = interfaces
        .exports
        .iter()
        .find(|name| name.split('@').next() == Some(TOOL_INTERFACE))
    else {
        return Err(LoadError::WrongWorld {
            exports: interfaces.exports.clone(),
        });
    };
    let found = export.split_once('@').map(|(_, version)| version);
    let compatible = found.is_some_and(|version| same_minor_line(version, CONTRACT_VERSION));
    match found {
        Some(version) if compatible => Ok(version.to_string()),
        _ => Err(LoadError::ContractVersion {
            found: match found {
                Some(version) => format!("baton:plugin@{version}"),
                None => "baton:plugin (unversioned)".into(),
            },
            supported: CONTRACT_VERSION.into(),
        }),
    }
}

/// `0.1.3` and `0.1.0` are compatible (semver: for 0.x the minor is the breaking part).
fn same_minor_line(a: &str, b: &str) -> bool {
    let parts = |v: &str| -> Option<(u64, u64)> {
        let mut it = v.split(['.', '-', '+']);
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    };
    match (parts(a), parts(b)) {
        (Some((0, minor_a)), Some((0, minor_b))) => minor_a == minor_b,
        (Some((major_a, _)), Some((major_b, _))) => major_a == major_b && major_a != 0,
        _ => false,
    }
}

/// Turns a linker error into the import it could not satisfy.
pub(crate) fn unsupported_import(error: &wasmtime::Error) -> LoadError {
    // wasmtime says: component imports instance `foo:bar/baz@1.0.0`, but a matching
    // implementation was not found in the linker: <why>
    let top = error.to_string();
    let import = top
        .split('`')
        .nth(1)
        .map(str::to_string)
        .unwrap_or_else(|| top.clone());
    let detail = error
        .chain()
        .skip(1)
        .map(|cause| cause.to_string())
        .collect::<Vec<_>>()
        .join(": ");
    LoadError::UnsupportedImport {
        import,
        detail: if detail.is_empty() {
            "not defined".into()
        } else {
            detail
        },
    }
}

impl Runtime {
    /// Loads the component at `path` and asks it to describe itself.
    ///
    /// Compilation (or the cache check) runs on a blocking thread, never on the async
    /// runtime's workers. Errors name the file and say what to do.
    pub async fn load(&self, path: impl AsRef<Path>) -> Result<crate::Plugin, PluginError> {
        self.load_with(path, &crate::Limits::default()).await
    }

    /// Like [`Runtime::load`], with the limits `describe` runs under: the ones the
    /// plugin will be called with, so a plugin that needs more memory than the
    /// default can still be loaded when it is granted more.
    pub async fn load_with(
        &self,
        path: impl AsRef<Path>,
        limits: &crate::Limits,
    ) -> Result<crate::Plugin, PluginError> {
        let path: PathBuf = path.as_ref().to_path_buf();
        let label = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let inner = self.inner.clone();
        let blocking_path = path.clone();
        let prepared = tokio::task::spawn_blocking(move || inner.prepare_file(&blocking_path))
            .await
            .map_err(|e| PluginError::new(&label, ErrorKind::Internal(e.to_string())))?
            .map_err(|e| PluginError::new(&label, e))?;
        crate::Plugin::from_prepared(self.clone(), label, Some(path), prepared, limits).await
    }

    /// Loads a component from bytes already in memory (tests, benchmarks, embedders).
    /// `label` names the plugin in errors until it has described itself.
    pub async fn load_bytes(
        &self,
        label: &str,
        bytes: Vec<u8>,
    ) -> Result<crate::Plugin, PluginError> {
        let inner = self.inner.clone();
        let path = PathBuf::from(label);
        let prepared = tokio::task::spawn_blocking(move || {
            recognise(&path, &bytes)?;
            inner.prepare(&path, &bytes, None)
        })
        .await
        .map_err(|e| PluginError::new(label, ErrorKind::Internal(e.to_string())))?
        .map_err(|e| PluginError::new(label, e))?;
        crate::Plugin::from_prepared(
            self.clone(),
            label.to_string(),
            None,
            prepared,
            &crate::Limits::default(),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_recognised_by_their_header() {
        let path = Path::new("p.wasm");
        assert!(matches!(recognise(path, b""), Err(LoadError::Empty { .. })));
        assert!(matches!(
            recognise(path, b"hello world"),
            Err(LoadError::NotWasm { .. })
        ));
        assert!(matches!(
            recognise(path, b"\0asm\x01\0\0\0"),
            Err(LoadError::CoreModule { .. })
        ));
        assert!(recognise(path, b"\0asm\x0d\0\x01\0").is_ok());
    }

    #[test]
    fn contract_versions_match_on_the_minor_line() {
        assert!(same_minor_line("0.1.0", "0.1.0"));
        assert!(same_minor_line("0.1.7", "0.1.0"));
        assert!(!same_minor_line("0.2.0", "0.1.0"));
        assert!(!same_minor_line("1.1.0", "0.1.0"));
        assert!(!same_minor_line("garbage", "0.1.0"));
    }

    #[test]
    fn a_component_without_the_tool_export_is_the_wrong_world() {
        let interfaces = Interfaces {
            imports: vec![],
            exports: vec!["wasi:cli/run@0.2.0".into()],
        };
        let error = contract_version(&interfaces).unwrap_err();
        assert!(error.to_string().contains("wasi:cli/run@0.2.0"), "{error}");
    }

    #[test]
    fn another_contract_line_is_refused_naming_both_versions() {
        let interfaces = Interfaces {
            imports: vec![],
            exports: vec!["baton:plugin/tool@0.2.0".into()],
        };
        let error = contract_version(&interfaces).unwrap_err().to_string();
        assert!(
            error.contains("baton:plugin@0.2.0") && error.contains("baton:plugin@0.1.0"),
            "{error}"
        );
    }
}
