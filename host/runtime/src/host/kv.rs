//! `baton:plugin/kv`: the plugin's own durable key-value data, through the host's
//! `KvStore` under a scope the host chose. Without the grant every call is `denied`.

use std::sync::Arc;

use baton_core::{KvQuota, KvStore};

use crate::bindings::baton::plugin::kv::{Host, KvError};
use crate::state::PluginState;

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

impl PluginState {
    fn kv_access(&self, key: Option<&str>) -> Result<&KvAccess, KvError> {
        let access = self.kv.as_ref().ok_or_else(|| {
            KvError::Denied("kv is not granted to this plugin; the workflow must grant it: grants = { kv = { quota = \"1MiB\" } }".into())
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

impl Host for PluginState {
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
