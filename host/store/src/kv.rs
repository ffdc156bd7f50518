//! Plugin key-value data: tree `kv` holds `<scope> 0x00 <key>` -> value; tree
//! `kv_usage` holds `<scope>` -> (keys, bytes), rewritten in the same transaction as
//! every write, so a quota holds however writes interleave.

use baton_core::{KvError, KvQuota, KvStore};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::SledStore;

pub(crate) fn entry_key(scope: &str, key: &str) -> Vec<u8> {
    let mut bytes = scope.as_bytes().to_vec();
    bytes.push(0);
    bytes.extend_from_slice(key.as_bytes());
    bytes
}

fn usage(bytes: Option<sled::IVec>) -> (u64, u64) {
    match bytes {
        Some(b) if b.len() == 16 => (
            u64::from_be_bytes(b[..8].try_into().expect("8 bytes")),
            u64::from_be_bytes(b[8..].try_into().expect("8 bytes")),
        ),
        _ => (0, 0),
    }
}

pub(crate) fn encode_usage(keys: u64, bytes: u64) -> Vec<u8> {
    let mut out = keys.to_be_bytes().to_vec();
    out.extend_from_slice(&bytes.to_be_bytes());
    out
}

fn store_error(e: impl std::fmt::Display) -> KvError {
    KvError::Store(format!("state store: {e}"))
}

impl KvStore for SledStore {
    fn kv_get(&self, scope: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.kv
            .get(entry_key(scope, key))
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(store_error)
    }

    fn kv_set(&self, scope: &str, key: &str, value: &[u8], quota: KvQuota) -> Result<(), KvError> {
        let entry = entry_key(scope, key);
        let result = (&self.kv, &self.kv_usage).transaction(|(kv, usage_tree)| {
            let old = kv.get(&entry)?;
            let (keys, bytes) = usage(usage_tree.get(scope.as_bytes())?);
            let old_size = old
                .as_ref()
                .map(|v| (key.len() + v.len()) as u64)
                .unwrap_or(0);
            let new_keys = keys + u64::from(old.is_none());
            let new_bytes = bytes - old_size.min(bytes) + (key.len() + value.len()) as u64;
            if new_keys > quota.max_keys {
                return Err(ConflictableTransactionError::Abort(KvError::Quota(
                    format!("key quota reached: {} keys allowed", quota.max_keys),
                )));
            }
            if new_bytes > quota.max_bytes {
                return Err(ConflictableTransactionError::Abort(KvError::Quota(
                    format!(
                        "byte quota reached: {new_bytes} bytes would exceed {} bytes",
                        quota.max_bytes
                    ),
                )));
            }
            kv.insert(entry.as_slice(), value)?;
            usage_tree.insert(scope.as_bytes(), encode_usage(new_keys, new_bytes))?;
            Ok(())
        });
        match result {
            Ok(()) => {
                self.tally.kv_written();
                Ok(())
            }
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(store_error(e)),
        }
    }

    fn kv_delete(&self, scope: &str, key: &str) -> Result<bool, KvError> {
        let entry = entry_key(scope, key);
        let result: Result<bool, TransactionError<KvError>> = (&self.kv, &self.kv_usage)
            .transaction(|(kv, usage_tree)| {
                let Some(old) = kv.remove(entry.as_slice())? else {
                    return Ok(false);
                };
                let (keys, bytes) = usage(usage_tree.get(scope.as_bytes())?);
                let size = (key.len() + old.len()) as u64;
                usage_tree.insert(
                    scope.as_bytes(),
                    encode_usage(keys.saturating_sub(1), bytes.saturating_sub(size)),
                )?;
                Ok(true)
            });
        if matches!(result, Ok(true)) {
            self.tally.kv_written();
        }
        result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => store_error(e),
        })
    }

    fn kv_list(&self, scope: &str, prefix: &str, limit: usize) -> Result<Vec<String>, KvError> {
        let start = entry_key(scope, prefix);
        let skip = scope.len() + 1;
        self.kv
            .scan_prefix(start)
            .keys()
            .take(limit)
            .map(|k| {
                k.map(|k| String::from_utf8_lossy(&k[skip..]).into_owned())
                    .map_err(store_error)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUOTA: KvQuota = KvQuota {
        max_keys: 2,
        max_bytes: 64,
    };

    fn store() -> (tempfile::TempDir, SledStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn scopes_never_see_each_other() {
        let (_dir, store) = store();
        store.kv_set("w/a", "k", b"from a", QUOTA).unwrap();
        assert_eq!(store.kv_get("w/a", "k").unwrap(), Some(b"from a".to_vec()));
        assert_eq!(store.kv_get("w/b", "k").unwrap(), None);
        assert!(store.kv_list("w/b", "", 10).unwrap().is_empty());
        // A scope that is a prefix of another does not see it either.
        assert!(store.kv_list("w", "", 10).unwrap().is_empty());
    }

    #[test]
    fn quotas_count_keys_and_bytes_and_free_them_on_delete() {
        let (_dir, store) = store();
        store.kv_set("s", "a", b"1", QUOTA).unwrap();
        store.kv_set("s", "b", b"2", QUOTA).unwrap();
        assert!(matches!(
            store.kv_set("s", "c", b"3", QUOTA),
            Err(KvError::Quota(_))
        ));
        // Overwriting an existing key is not a new key.
        store.kv_set("s", "a", b"11", QUOTA).unwrap();
        assert!(matches!(
            store.kv_set("s", "a", &[0; 100], QUOTA),
            Err(KvError::Quota(_))
        ));
        assert!(store.kv_delete("s", "b").unwrap());
        store.kv_set("s", "c", b"3", QUOTA).unwrap();
        assert_eq!(store.kv_list("s", "", 10).unwrap(), vec!["a", "c"]);
    }
}
