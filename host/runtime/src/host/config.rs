//! `baton:plugin/config`: read-only values from the workflow or the command line.
//! Its context is the call's configuration and nothing else.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::bindings::baton::plugin::config::Host;

/// What `config` reads: the plugin's configuration for this call.
#[derive(Debug, Default)]
pub(crate) struct ConfigCtx(pub(crate) Arc<BTreeMap<String, String>>);

impl Host for ConfigCtx {
    fn get(&mut self, key: String) -> Option<String> {
        self.0.get(&key).cloned()
    }

    fn keys(&mut self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_the_values_it_was_given() {
        let mut ctx = ConfigCtx(Arc::new(BTreeMap::from([(
            "tone".to_string(),
            "warm".to_string(),
        )])));
        assert_eq!(ctx.get("tone".into()).as_deref(), Some("warm"));
        assert_eq!(ctx.get("HOME".into()), None);
        assert_eq!(ctx.keys(), vec!["tone".to_string()]);
    }
}
