//! Inputs the fuzzers found worth keeping (`fuzz/regressions/<target>/`), replayed on
//! the stable toolchain through the same entry points as the fuzz targets: each must
//! end in a value or a clear error, never a panic.

use baton_runtime::{Runtime, RuntimeOptions};
use baton_tests::workspace_root;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = workspace_root().join("fuzz/regressions").join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs in {}", dir.display());
    files
}

#[test]
fn kept_workflow_files_are_refused_with_a_position() {
    for (name, bytes) in inputs("workflow_file") {
        let text = String::from_utf8(bytes).expect("kept workflow inputs are text");
        let problems = baton_workflow::Workflow::parse(std::path::Path::new(&name), &text)
            .expect_err(&name)
            .to_string();
        assert!(
            problems.starts_with(&format!("{name}:")),
            "{name}: {problems}"
        );
    }
}

#[tokio::test]
async fn kept_component_inputs_are_refused_as_load_errors() {
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: None,
        ..RuntimeOptions::default()
    })
    .unwrap();
    for (name, bytes) in inputs("component_load") {
        let error = runtime.load_bytes(&name, bytes).await.expect_err(&name);
        assert_eq!(error.kind.code(), "load", "{name}: {error}");
    }
}
