//! `host bench`: every workflow-level figure is measured and printed, in stores of its
//! own, leaving the user's state store untouched.

use baton_tests::Scratch;

#[test]
fn bench_prints_every_figure_and_leaves_the_state_store_alone() {
    let scratch = Scratch::with_shared_cache();
    let workflow = scratch.workflow("three.toml", baton_tests::THREE_ECHO_STEPS);
    let input = scratch.file("input.json", r#"{"lead": "Ana Okafor", "score": 93}"#);
    let run = scratch.host(&[
        "bench",
        workflow.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--samples",
        "3",
        "--concurrency",
        "2",
    ]);
    run.expect_code(0);
    for figure in [
        "load plugin `echo` from the cache",
        "one run to where it stops, in process",
        "ends completed",
        "durable runs, 2 at a time",
        "runs/s",
        "`host run` to where it stops, whole process",
        "memory of this host holding 100 runs (0 waiting)",
        "MiB",
    ] {
        assert!(
            run.stdout.contains(figure),
            "no {figure:?} in:\n{}",
            run.stdout
        );
    }
    // The runs went to scratch stores of the bench's own.
    let listed = scratch.host(&["runs", "--json"]).json();
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "{listed}");
}

#[test]
fn bench_of_a_missing_workflow_names_the_file() {
    let scratch = Scratch::new();
    scratch
        .host(&["bench", "nowhere.toml"])
        .expect_code(2)
        .stderr_has("nowhere.toml");
}
