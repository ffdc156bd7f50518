//! The on-disk cache of precompiled components.
//!
//! Compiling a component costs 75 ms (Rust) to 6 s (Python, JavaScript); loading a
//! precompiled artifact costs well under a few milliseconds. An entry is keyed by
//! the BLAKE3 digest of the component's bytes and a fingerprint of the engine's
//! configuration (wasmtime version, target, enabled features, fuel), so a new host or
//! a new configuration never loads an artifact compiled for another.
//!
//! Precompiled artifacts are native code that wasmtime trusts, so an entry is never
//! loaded unless it passes an integrity check: each file starts with a header holding
//! the BLAKE3 digest and length of the artifact, written by this host. A truncated,
//! corrupted or tampered file fails the check, is reported, and is recompiled from
//! the component. Writes go to a temporary file and are renamed into place, so a
//! crash or a concurrent writer never leaves a half-written entry under the real name.
//!
//! Threat model: the check stops corruption and tampering that does not also
//! recompute the digest. Someone who can rewrite the cache directory *and* forge the
//! header can also replace the `host` binary itself; the cache directory must be as
//! private as the binary (it is created with the user's default permissions).

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Bumped whenever the file layout below changes.
const MAGIC: &[u8; 8] = b"BATONCW1";
const HEADER_LEN: usize = MAGIC.len() + 32 + 8;

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

/// What a cache lookup found.
#[derive(Debug)]
pub(crate) enum Lookup {
    Hit(Component),
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
        fs::create_dir_all(dir)?;
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        Ok(ComponentCache {
            dir: dir.to_path_buf(),
            engine_fingerprint: format!("{:016x}", hasher.finish()),
        })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry for `digest` lives, e.g. `~/.cache/baton/components/<hex>-<engine>.cwasm`.
    pub(crate) fn entry_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!(
            "{}-{}.cwasm",
            digest.to_hex(),
            self.engine_fingerprint
        ))
    }

    pub(crate) fn lookup(&self, engine: &Engine, digest: &Digest) -> Lookup {
        let path = self.entry_path(digest);
        let file = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Miss,
            Err(e) => return Lookup::Rejected(format!("cannot read {}: {e}", path.display())),
        };
        let artifact = match verify(&file) {
            Ok(artifact) => artifact,
            Err(reason) => return Lookup::Rejected(format!("{}: {reason}", path.display())),
        };
        // SAFETY: `Component::deserialize` trusts its input to be an artifact that
        // wasmtime produced. `verify` has just checked that these bytes are exactly
        // what this host wrote with `store` (digest and length in the header), and
        // the file name binds them to this engine configuration; wasmtime checks its
        // own version and settings header on top of that.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(engine, artifact) };
        match component {
            Ok(component) => Lookup::Hit(component),
            Err(e) => Lookup::Rejected(format!("{}: {e}", path.display())),
        }
    }

    /// Writes an entry atomically: a temporary file in the same directory, then a rename.
    pub(crate) fn store(&self, digest: &Digest, artifact: &[u8]) -> std::io::Result<()> {
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        tmp.write_all(MAGIC)?;
        tmp.write_all(blake3::hash(artifact).as_bytes())?;
        tmp.write_all(&(artifact.len() as u64).to_le_bytes())?;
        tmp.write_all(artifact)?;
        tmp.as_file().sync_data()?;
        tmp.persist(self.entry_path(digest)).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Checks the header of a cache file and returns the artifact it protects.
fn verify(file: &[u8]) -> Result<&[u8], String> {
    if file.len() < HEADER_LEN {
        return Err(format!(
            "truncated ({} bytes, shorter than the {HEADER_LEN}-byte header)",
            file.len()
        ));
    }
    let (header, artifact) = file.split_at(HEADER_LEN);
    if &header[..8] != MAGIC {
        return Err("not a Baton cache entry (bad magic)".into());
    }
    let expected_len = u64::from_le_bytes(header[40..48].try_into().expect("8 bytes"));
    if expected_len != artifact.len() as u64 {
        return Err(format!(
            "truncated or extended: header says {expected_len} bytes, file holds {}",
            artifact.len()
        ));
    }
    if blake3::hash(artifact).as_bytes() != &header[8..40] {
        return Err("integrity check failed: contents do not match their digest".into());
    }
    Ok(artifact)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(artifact: &[u8]) -> Vec<u8> {
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(blake3::hash(artifact).as_bytes());
        file.extend_from_slice(&(artifact.len() as u64).to_le_bytes());
        file.extend_from_slice(artifact);
        file
    }

    #[test]
    fn an_intact_entry_verifies_and_yields_its_artifact() {
        let file = entry(b"native code");
        assert_eq!(verify(&file).unwrap(), b"native code");
    }

    #[test]
    fn a_flipped_byte_fails_the_integrity_check() {
        let mut file = entry(b"native code");
        let last = file.len() - 1;
        file[last] ^= 1;
        assert!(verify(&file).unwrap_err().contains("integrity"));
    }

    #[test]
    fn a_truncated_entry_is_rejected_before_hashing() {
        let file = entry(b"native code");
        assert!(
            verify(&file[..file.len() - 3])
                .unwrap_err()
                .contains("truncated")
        );
        assert!(verify(&file[..10]).unwrap_err().contains("truncated"));
    }

    #[test]
    fn a_foreign_file_is_rejected_by_its_magic() {
        let mut file = entry(b"x");
        file[0] = b'X';
        assert!(verify(&file).unwrap_err().contains("magic"));
    }
}
