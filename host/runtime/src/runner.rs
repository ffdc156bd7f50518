//! A workflow's plugins as the engine's `PluginRunner`: each called by the name the
//! workflow gives it, with the limits and config the workflow set for it.

use std::collections::BTreeMap;

use baton_core::{PluginName, PluginRunner, StepCall, StepError};
use serde_json::Value;

use crate::{Call, Plugin};

/// Loaded plugins by workflow name, each with its call settings.
#[derive(Debug, Default)]
pub struct PluginSet {
    plugins: BTreeMap<PluginName, (Plugin, Call)>,
}

impl PluginSet {
    pub fn new(plugins: BTreeMap<PluginName, (Plugin, Call)>) -> PluginSet {
        PluginSet { plugins }
    }

    pub fn plugin(&self, name: &str) -> Option<&Plugin> {
        self.plugins.get(name).map(|(plugin, _)| plugin)
    }

    /// Each plugin's component digest, as a run records them.
    pub fn digests(&self) -> BTreeMap<String, String> {
        self.plugins
            .iter()
            .map(|(name, (plugin, _))| (name.to_string(), plugin.digest().to_string()))
            .collect()
    }
}

impl PluginRunner for PluginSet {
    async fn invoke(
        &self,
        plugin: &str,
        input: &Value,
        step: StepCall,
    ) -> Result<Value, StepError> {
        let Some((loaded, call)) = self.plugins.get(plugin) else {
            return Err(StepError {
                kind: "internal".into(),
                message: format!("plugin {plugin:?} is not loaded"),
                retryable: false,
            });
        };
        // Only a plugin with an `llm` grant needs what the run gave the step.
        let with_step;
        let call = if call.llm.is_some() {
            with_step = Call {
                step,
                ..call.clone()
            };
            &with_step
        } else {
            call
        };
        loaded
            .invoke_value(input, call)
            .await
            .map(|invocation| invocation.output)
            .map_err(|error| StepError {
                kind: error.kind.code().to_string(),
                message: error.to_string(),
                retryable: error.kind.is_retryable(),
            })
    }

    fn check_edit(&self, plugin: &str, pointer: Option<&str>, value: &Value) -> Result<(), String> {
        match self.plugins.get(plugin) {
            Some((loaded, _)) => loaded.check_output(pointer, value),
            None => Ok(()),
        }
    }
}
