//! Any bytes as a workflow file: checking it must end in a workflow or in problems
//! with positions, never in a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(problems) = baton_workflow::Workflow::parse(std::path::Path::new("fuzz.toml"), text)
    {
        // Rendering the problems (with their file:line:col) must not panic either.
        let _ = problems.to_string();
    }
});
