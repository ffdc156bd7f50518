//! `baton:plugin/kv`: the plugin's own durable key-value data, through the host's
//! `KvStore` under a scope the host chose. Without the grant every call is `denied`.

use std::sync::Arc;

use baton_core::{KvQuota, KvStore};

use crate::bindings::baton::plugin::kv::{Host, KvError};

/// Longest key accepted, in bytes.
const MAX_KEY: usize = 256;
/// Most keys one `list` returns.
const MAX_LISTED: usize = 1_000;

/// A `kv` grant: the store, the scope the host chose for this plugin, and its quota.
#[derive(Clone)]
pub struct KvAccess {
    pub store: Arc<dyn KvStore>,
    /// e.g. `lead-followup/drafter`: the workflow and the plugin's name in it.
    pub scope: String,
    pub quota: KvQuota,
}

impl std::fmt::Debug for KvAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvAccess")
            .field("scope", &self.scope)
            .field("quota", &self.quota)
            .finish_non_exhaustive()
    }
}

/// What `kv` works on: the call's grant, if it has one.
#[derive(Debug, Default)]
pub(crate) struct KvCtx(pub(crate) Option<KvAccess>);

impl KvCtx {
    fn kv_access(&self, key: Option<&str>) -> Result<&KvAccess, KvError> {
        let access = self.0.as_ref().ok_or_else(|| {
            KvError::Denied("kv is not granted to this plugin; grant it in the workflow (grants = { kv = { quota = \"1MiB\" } }), or with --grant-kv on host invoke".into())
        })?;
        if let Some(key) = key
            && (key.is_empty() || key.len() > MAX_KEY)
        {
            return Err(KvError::Invalid(format!(
                "keys must be 1 to {MAX_KEY} bytes; this one is {}",
                key.len()
            )));
        }
        Ok(access)
    }
}

fn store_error(error: baton_core::KvError) -> KvError {
    match error {
        baton_core::KvError::Quota(message) => KvError::Quota(message),
        baton_core::KvError::Store(message) => KvError::Unavailable(message),
    }
}

impl Host for KvCtx {
    fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, KvError> {
        let access = self.kv_access(Some(&key))?;
        access
            .store
            .kv_get(&access.scope, &key)
            .map_err(store_error)
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), KvError> {
        let access = self.kv_access(Some(&key))?;
        access
            .store
            .kv_set(&access.scope, &key, &value, access.quota)
            .map_err(store_error)
    }

    fn delete(&mut self, key: String) -> Result<bool, KvError> {
        let access = self.kv_access(Some(&key))?;
        access
            .store
            .kv_delete(&access.scope, &key)
            .map_err(store_error)
    }

    fn keys(&mut self, prefix: String) -> Result<Vec<String>, KvError> {
        let access = self.kv_access(None)?;
        access
            .store
            .kv_list(&access.scope, &prefix, MAX_LISTED)
            .map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    const QUOTA: KvQuota = KvQuota {
        max_keys: 100,
        max_bytes: 1 << 20,
    };

    /// Keys by scope, in memory.
    #[derive(Default)]
    struct Memory(Mutex<BTreeMap<(String, String), Vec<u8>>>);

    impl KvStore for Memory {
        fn kv_get(&self, scope: &str, key: &str) -> Result<Option<Vec<u8>>, baton_core::KvError> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .get(&(scope.into(), key.into()))
                .cloned())
        }
        fn kv_set(
            &self,
            scope: &str,
            key: &str,
            value: &[u8],
            _: KvQuota,
        ) -> Result<(), baton_core::KvError> {
            self.0
                .lock()
                .unwrap()
                .insert((scope.into(), key.into()), value.to_vec());
            Ok(())
        }
        fn kv_delete(&self, scope: &str, key: &str) -> Result<bool, baton_core::KvError> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .remove(&(scope.into(), key.into()))
                .is_some())
        }
        fn kv_list(
            &self,
            scope: &str,
            prefix: &str,
            _: usize,
        ) -> Result<Vec<String>, baton_core::KvError> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .keys()
                .filter(|(s, k)| s == scope && k.starts_with(prefix))
                .map(|(_, k)| k.clone())
                .collect())
        }
    }

    #[test]
    fn without_the_grant_every_call_is_denied() {
        let mut ctx = KvCtx(None);
        assert!(matches!(ctx.get("a".into()), Err(KvError::Denied(_))));
        assert!(matches!(ctx.keys(String::new()), Err(KvError::Denied(_))));
    }

    #[test]
    fn a_grant_reaches_its_own_scope_only_and_bad_keys_are_refused() {
        let store: Arc<dyn KvStore> = Arc::new(Memory::default());
        store.kv_set("wf/other", "secret", b"x", QUOTA).unwrap();
        let mut ctx = KvCtx(Some(KvAccess {
            store,
            scope: "wf/mine".into(),
            quota: QUOTA,
        }));
        ctx.set("count".into(), b"1".to_vec()).unwrap();
        assert_eq!(ctx.get("count".into()).unwrap(), Some(b"1".to_vec()));
        assert_eq!(ctx.get("secret".into()).unwrap(), None);
        assert_eq!(ctx.keys(String::new()).unwrap(), vec!["count".to_string()]);
        assert!(matches!(ctx.get(String::new()), Err(KvError::Invalid(_))));
        assert!(matches!(
            ctx.set("k".repeat(MAX_KEY + 1), vec![]),
            Err(KvError::Invalid(_))
        ));
        assert!(ctx.delete("count".into()).unwrap());
    }
}
