//! Snapshot tests of broken workflow files: each `tests/ui/NAME.toml` sits beside
//! `NAME.err`, the exact error `host run --dry-run` must print for it. Run with
//! `BLESS=1` to rewrite the `.err` files after an intended change, then review them.

use baton_tests::{Scratch, workspace_root};

#[test]
fn every_broken_workflow_gets_its_exact_error() {
    let dir = workspace_root().join("tests/ui");
    let cases = baton_tests::case_files("tests/ui", "toml", 10);
    let bless = std::env::var_os("BLESS").is_some();
    let scratch = Scratch::new();
    let mut failures = Vec::new();
    for case in cases {
        let name = case.file_name().unwrap().to_str().unwrap();
        let run = scratch.host_in(&dir, &["run", name, "--dry-run"]);
        let actual = run.stderr.trim_end().to_string() + "\n";
        let expected_path = case.with_extension("err");
        if run.code != Some(2) {
            failures.push(format!(
                "{name}: exit code {:?}, expected 2\n{}",
                run.code, run.stderr
            ));
            continue;
        }
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "{name}:\n--- expected ({})\n{expected}--- actual\n{actual}",
                expected_path.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ (BLESS=1 to accept):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}
