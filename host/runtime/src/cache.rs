//! The on-disk cache of precompiled components.
//!
//! Compiling a component costs 75 ms (Rust) to 6 s (Python, JavaScript); loading a
//! precompiled artifact costs well under a millisecond, because the artifact is
//! mapped into memory (`Component::deserialize_file`) rather than read and copied.
//! An entry is keyed by the BLAKE3 digest of the component's bytes and a fingerprint
//! of the engine's configuration (wasmtime version, target, enabled features, fuel,
//! this file's layout), so a new host or a new configuration never loads an artifact
//! compiled for another.
//!
//! An entry is two files: `<digest>-<engine>.cwasm`, the artifact exactly as wasmtime
//! wrote it, and `<digest>-<engine>.seal`, written by this host after the artifact:
//! the artifact's BLAKE3 digest and length and, once the artifact has been verified
//! against them, its file stamp (device, inode, length, modification and change
//! times). Precompiled artifacts are native code that wasmtime trusts, so an
//! artifact is never loaded unless it passes the check:
//!
//! - its stamp equals the one in the seal: the file has not been written, replaced or
//!   renamed since it was verified (any write moves the change time, which a user
//!   cannot set back), so it is mapped without being read;
//! - otherwise it is read and hashed in full, and a mismatch is reported and the
//!   component recompiled. Like git's index, a stamp is only recorded once the file
//!   is older than [`RACY`], since a write within the timestamp granularity of the
//!   last one could leave the stamp unchanged.
//!
//! The seal also keeps what the component said in `describe` (checked, schemas
//! compiled, when it was recorded), so a hit neither instantiates the component to
//! ask again nor recompiles its schemas before they are first needed.
//!
//! Finding the digest needs the component's bytes; reading and hashing an 18 MB
//! Python component costs more than loading its artifact. So the cache also keeps
//! `sources/<hash of the path>`: a component file's path, stamp and digest, used
//! while the file's stamp is unchanged (recorded under the same rule).
//!
//! Writes go to a temporary file and are renamed into place, artifact first and seal
//! last, so a crash or a concurrent writer never leaves an entry that passes its
//! check half-written.
//!
//! Threat model: the check stops corruption and tampering through the file system.
//! Someone who can rewrite the cache directory *and* forge a seal can also replace
//! the `host` binary itself; the cache directory must be as private as the binary
//! (it is created with the user's default permissions).

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Bumped whenever the layout below changes; part of every entry's name.
const LAYOUT: u32 = 2;
const SEAL_MAGIC: &[u8; 8] = b"BATONCS2";
const SOURCE_MAGIC: &[u8; 8] = b"BATONSI2";
/// A file changed more recently than this before its stamp was taken is not trusted
/// by its stamp: file times are coarse (a few milliseconds), so a second write in the
/// same tick would leave the stamp unchanged.
pub(crate) const RACY: Duration = Duration::from_secs(2);

/// The BLAKE3 digest of a component's bytes, shown as hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(*blake3::hash(bytes).as_bytes())
    }

    pub fn to_hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "blake3:{}", self.to_hex())
    }
}

/// What identifies one version of a file without reading it: device, inode, length,
/// and modification and change times in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp([u64; 5]);

impl Stamp {
    const LEN: usize = 40;

    #[cfg(unix)]
    pub(crate) fn of(meta: &fs::Metadata) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let nanos =
            |secs: i64, nsecs: i64| (secs as u64).wrapping_mul(1_000_000_000) + nsecs as u64;
        Some(Stamp([
            meta.dev(),
            meta.ino(),
            meta.size(),
            nanos(meta.mtime(), meta.mtime_nsec()),
            nanos(meta.ctime(), meta.ctime_nsec()),
        ]))
    }

    /// Without inodes and change times a stamp proves nothing: always verify.
    #[cfg(not(unix))]
    pub(crate) fn of(_meta: &fs::Metadata) -> Option<Stamp> {
        None
    }

    /// Worth recording: the file's last change is older than [`RACY`].
    pub(crate) fn is_settled(&self) -> bool {
        let changed = SystemTime::UNIX_EPOCH + Duration::from_nanos(self.0[3].max(self.0[4]));
        SystemTime::now()
            .duration_since(changed)
            .is_ok_and(|age| age > RACY)
    }

    fn write(&self, out: &mut Vec<u8>) {
        for part in self.0 {
            out.extend_from_slice(&part.to_le_bytes());
        }
    }

    fn read(bytes: &[u8]) -> Option<Stamp> {
        let mut parts = [0u64; 5];
        for (i, part) in parts.iter_mut().enumerate() {
            *part = u64::from_le_bytes(bytes.get(i * 8..i * 8 + 8)?.try_into().ok()?);
        }
        Some(Stamp(parts))
    }
}

/// What a cache lookup found.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// The component, and what it said in `describe` when it was last loaded.
    Hit(Component, Option<Vec<u8>>),
    Miss,
    /// An entry exists but must not be used; the reason says why.
    Rejected(String),
}

#[derive(Debug)]
pub(crate) struct ComponentCache {
    dir: PathBuf,
    engine_fingerprint: String,
}

impl ComponentCache {
    pub(crate) fn open(dir: &Path, engine: &Engine) -> std::io::Result<ComponentCache> {
        fs::create_dir_all(dir.join("sources"))?;
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        LAYOUT.hash(&mut hasher);
        Ok(ComponentCache {
            dir: dir.to_path_buf(),
            engine_fingerprint: format!("{:016x}", hasher.finish()),
        })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the artifact for `digest` lives, e.g. `~/.cache/baton/components/<hex>-<engine>.cwasm`.
    pub(crate) fn entry_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!(
            "{}-{}.cwasm",
            digest.to_hex(),
            self.engine_fingerprint
        ))
    }

    fn seal_path(&self, digest: &Digest) -> PathBuf {
        self.entry_path(digest).with_extension("seal")
    }

    pub(crate) fn lookup(&self, engine: &Engine, digest: &Digest) -> Lookup {
        let path = self.entry_path(digest);
        let rejected = |reason: String| Lookup::Rejected(format!("{}: {reason}", path.display()));
        let seal = match fs::read(self.seal_path(digest)) {
            Ok(bytes) => match Seal::parse(&bytes) {
                Ok(seal) => seal,
                Err(reason) => return rejected(format!("its seal is unusable: {reason}")),
            },
            // An artifact without a seal is a store that did not finish.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Miss,
            Err(e) => return rejected(format!("cannot read its seal: {e}")),
        };
        let meta = match fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Miss,
            Err(e) => return rejected(format!("cannot read it: {e}")),
        };
        // A stamp holds the length, so a matching one vouches for that too.
        let stamp = Stamp::of(&meta);
        if stamp.is_none() || seal.verified != stamp {
            let artifact = match fs::read(&path) {
                Ok(bytes) => bytes,
                Err(e) => return rejected(format!("cannot read it: {e}")),
            };
            if let Err(reason) = seal.check(&artifact) {
                return rejected(reason);
            }
            // Verified: record the stamp, so later loads map the file without reading it.
            if let Some(stamp) = stamp.filter(Stamp::is_settled) {
                let sealed = Seal {
                    verified: Some(stamp),
                    ..seal.clone()
                };
                let bytes = sealed.to_bytes();
                if let Err(e) = self.write_atomically(&self.seal_path(digest), &bytes, false) {
                    tracing::debug!(
                        "could not record the verified stamp of {}: {e}",
                        path.display()
                    );
                }
            }
        }
        // SAFETY: `Component::deserialize_file` trusts the file to be an artifact that
        // wasmtime produced. Its seal, written by this host after the artifact, has
        // just vouched for it: either by a stamp recorded when its contents last
        // matched the sealed digest (and any write since would have changed the
        // stamp), or by hashing it now. The file name binds it to this engine
        // configuration, and wasmtime checks its own version and settings header.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize_file(engine, &path) };
        match component {
            Ok(component) => Lookup::Hit(component, seal.description),
            Err(e) => rejected(format!("{e:#}")),
        }
    }

    /// Writes an entry: the artifact, then its seal, each atomically (a temporary file
    /// in the same directory, then a rename). An old seal is removed first, so no
    /// reader ever pairs it with the new artifact.
    pub(crate) fn store(&self, digest: &Digest, artifact: &[u8]) -> std::io::Result<()> {
        let seal_path = self.seal_path(digest);
        match fs::remove_file(&seal_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        self.write_atomically(&self.entry_path(digest), artifact, true)?;
        let seal = Seal {
            digest: *blake3::hash(artifact).as_bytes(),
            len: artifact.len() as u64,
            verified: None,
            description: None,
        };
        self.write_atomically(&seal_path, &seal.to_bytes(), true)
    }

    /// Keeps what a component said in `describe` beside its artifact, so a later load
    /// neither instantiates it nor recompiles its schemas to check them. Best effort:
    /// a lost or unreadable seal only means the next load verifies and describes again.
    pub(crate) fn record_description(&self, digest: &Digest, description: &[u8]) {
        let path = self.seal_path(digest);
        let Some(seal) = fs::read(&path).ok().and_then(|b| Seal::parse(&b).ok()) else {
            return;
        };
        let described = Seal {
            description: Some(description.to_vec()),
            ..seal
        };
        if let Err(e) = self.write_atomically(&path, &described.to_bytes(), false) {
            tracing::debug!(
                "could not record the description in {}: {e}",
                path.display()
            );
        }
    }

    /// Writes a file whole under its final name: a temporary file in the cache, then a
    /// rename. `durable` syncs the data first (artifacts; a seal that only saves work
    /// next time need not wait for the disk).
    fn write_atomically(&self, path: &Path, bytes: &[u8], durable: bool) -> std::io::Result<()> {
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        tmp.write_all(bytes)?;
        if durable {
            tmp.as_file().sync_data()?;
        }
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    fn source_index_path(&self, path: &Path) -> PathBuf {
        let name = blake3::hash(path.as_os_str().as_encoded_bytes()).to_hex();
        self.dir.join("sources").join(&name[..32])
    }

    /// The digest of the component file at `path` (canonical), if the cache has seen
    /// this very version of it: same path, same stamp.
    pub(crate) fn known_source(&self, path: &Path, meta: &fs::Metadata) -> Option<Digest> {
        let stamp = Stamp::of(meta)?;
        let bytes = fs::read(self.source_index_path(path)).ok()?;
        let rest = bytes.strip_prefix(SOURCE_MAGIC)?;
        let recorded = Stamp::read(rest)?;
        let digest: [u8; 32] = rest.get(Stamp::LEN..Stamp::LEN + 32)?.try_into().ok()?;
        let recorded_path = rest.get(Stamp::LEN + 32..)?;
        (recorded == stamp && recorded_path == path.as_os_str().as_encoded_bytes())
            .then_some(Digest(digest))
    }

    /// Remembers the digest of the component file at `path` (canonical), whose
    /// metadata `meta` was taken before its bytes were read. Best effort.
    pub(crate) fn remember_source(&self, path: &Path, meta: &fs::Metadata, digest: &Digest) {
        let Some(stamp) = Stamp::of(meta).filter(Stamp::is_settled) else {
            return;
        };
        let mut bytes = SOURCE_MAGIC.to_vec();
        stamp.write(&mut bytes);
        bytes.extend_from_slice(&digest.0);
        bytes.extend_from_slice(path.as_os_str().as_encoded_bytes());
        if let Err(e) = self.write_atomically(&self.source_index_path(path), &bytes, false) {
            tracing::debug!(
                "could not index {} in the component cache: {e}",
                path.display()
            );
        }
    }
}

/// What the host wrote about an artifact.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seal {
    digest: [u8; 32],
    len: u64,
    /// The artifact's stamp when its contents last matched `digest`.
    verified: Option<Stamp>,
    /// What the component said in `describe` (JSON), once it has been loaded.
    description: Option<Vec<u8>>,
}

impl Seal {
    const LEN: usize = SEAL_MAGIC.len() + 32 + 8 + 1 + Stamp::LEN;

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = SEAL_MAGIC.to_vec();
        out.extend_from_slice(&self.digest);
        out.extend_from_slice(&self.len.to_le_bytes());
        out.push(self.verified.is_some() as u8);
        self.verified.unwrap_or(Stamp([0; 5])).write(&mut out);
        out.extend_from_slice(self.description.as_deref().unwrap_or_default());
        out
    }

    fn parse(bytes: &[u8]) -> Result<Seal, String> {
        if bytes.len() < Seal::LEN {
            return Err(format!(
                "{} bytes, expected at least {}",
                bytes.len(),
                Seal::LEN
            ));
        }
        let rest = bytes
            .strip_prefix(SEAL_MAGIC)
            .ok_or("not a Baton seal (bad magic)")?;
        let digest = rest[..32].try_into().expect("32 bytes");
        let len = u64::from_le_bytes(rest[32..40].try_into().expect("8 bytes"));
        let verified = match rest[40] {
            0 => None,
            1 => Some(Stamp::read(&rest[41..]).expect("a stamp's bytes")),
            other => return Err(format!("unknown stamp flag {other}")),
        };
        let description = &rest[41 + Stamp::LEN..];
        Ok(Seal {
            digest,
            len,
            verified,
            description: (!description.is_empty()).then(|| description.to_vec()),
        })
    }

    /// Checks an artifact's contents against the seal.
    fn check(&self, artifact: &[u8]) -> Result<(), String> {
        if artifact.len() as u64 != self.len {
            return Err(format!(
                "truncated or extended: its seal says {} bytes, the file holds {}",
                self.len,
                artifact.len()
            ));
        }
        if blake3::hash(artifact).as_bytes() != &self.digest {
            return Err("integrity check failed: contents do not match their digest".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(artifact: &[u8]) -> Seal {
        Seal {
            digest: *blake3::hash(artifact).as_bytes(),
            len: artifact.len() as u64,
            verified: None,
            description: None,
        }
    }

    #[test]
    fn an_intact_artifact_passes_its_seal() {
        assert_eq!(seal(b"native code").check(b"native code"), Ok(()));
    }

    #[test]
    fn a_flipped_byte_fails_the_integrity_check() {
        let error = seal(b"native code").check(b"native codf").unwrap_err();
        assert!(error.contains("integrity"), "{error}");
    }

    #[test]
    fn a_truncated_artifact_is_rejected_before_hashing() {
        let error = seal(b"native code").check(b"native").unwrap_err();
        assert!(error.contains("truncated"), "{error}");
    }

    #[test]
    fn seals_round_trip_with_and_without_a_stamp() {
        let plain = seal(b"x");
        assert_eq!(Seal::parse(&plain.to_bytes()), Ok(plain.clone()));
        let stamped = Seal {
            verified: Some(Stamp([1, 2, 3, 4, 5])),
            description: Some(br#"{"name": "x"}"#.to_vec()),
            ..plain
        };
        assert_eq!(Seal::parse(&stamped.to_bytes()), Ok(stamped));
    }

    #[test]
    fn a_foreign_or_cut_seal_is_refused() {
        let mut bytes = seal(b"x").to_bytes();
        assert!(Seal::parse(&bytes[..20]).unwrap_err().contains("expected"));
        bytes[0] = b'X';
        assert!(Seal::parse(&bytes).unwrap_err().contains("magic"));
    }

    #[cfg(unix)]
    #[test]
    fn a_fresh_file_is_not_settled_and_a_rewrite_changes_its_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"one").unwrap();
        let first = fs::metadata(&path).unwrap();
        assert!(
            !Stamp::of(&first).unwrap().is_settled(),
            "just written: racy"
        );
        std::thread::sleep(Duration::from_millis(20));
        fs::write(&path, b"two").unwrap();
        let second = fs::metadata(&path).unwrap();
        assert_ne!(Stamp::of(&first), Stamp::of(&second));
    }
}
