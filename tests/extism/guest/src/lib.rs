//! The lead scorer as an Extism plugin: the same library (`lead-scoring`) the Baton
//! plugin calls, behind Extism's calling convention, so the comparison benchmark times
//! the hosts and not two implementations.

use extism_pdk::{FnResult, WithReturnCode, plugin_fn};

/// `{"leads": [...]}` in, the scored leads out, exactly as the Baton plugin answers
/// with its default settings.
#[plugin_fn]
pub fn score(input: String) -> FnResult<String> {
    let scored = lead_scoring::score_json(&input, &lead_scoring::Settings::default())
        .map_err(|e| WithReturnCode::new(extism_pdk::Error::msg(e.0), 1))?;
    Ok(serde_json::to_string(&scored)?)
}
