//! `baton:plugin/config`: read-only values from the workflow or the command line.

use crate::bindings::baton::plugin::config::Host;
use crate::state::PluginState;

impl Host for PluginState {
    fn get(&mut self, key: String) -> Option<String> {
        self.config.get(&key).cloned()
    }

    fn keys(&mut self) -> Vec<String> {
        self.config.keys().cloned().collect()
    }
}
