//! `host plugin inspect`.

use baton_tests::{Scratch, plugin};

#[test]
fn inspect_shows_what_the_plugin_is_and_what_it_asks_for() {
    let scratch = Scratch::new();
    let scorer = plugin("lead-scorer");
    let run = scratch.host(&["plugin", "inspect", scorer.to_str().unwrap()]);
    run.expect_code(0);
    let text = &run.stdout;
    assert!(text.starts_with("lead-scorer 0.1.0\n"), "{text}");
    assert!(text.contains("contract       baton:plugin@0.1.0"), "{text}");
    assert!(text.contains("capabilities   none"), "{text}");
    assert!(text.contains("digest         blake3:"), "{text}");
    assert!(text.contains("baton:plugin/tool@0.1.0"), "{text}");
    assert!(text.contains("input schema:"), "{text}");
}

#[test]
fn inspect_json_lists_schemas_imports_and_exports() {
    let scratch = Scratch::new();
    let scorer = plugin("lead-scorer");
    let info = scratch
        .host(&["plugin", "inspect", scorer.to_str().unwrap(), "--json"])
        .expect_code(0)
        .json();
    assert_eq!(info["name"], "lead-scorer");
    assert_eq!(info["contract"], "baton:plugin@0.1.0");
    assert_eq!(info["capabilities"], serde_json::json!([]));
    assert_eq!(
        info["input_schema"]["required"],
        serde_json::json!(["leads"])
    );
    assert_eq!(
        info["exports"],
        serde_json::json!(["baton:plugin/tool@0.1.0"])
    );
    let imports: Vec<&str> = info["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(imports.contains(&"baton:plugin/log@0.1.0"), "{imports:?}");
    assert!(
        imports.contains(&"baton:plugin/config@0.1.0"),
        "{imports:?}"
    );
    assert!(info["digest"].as_str().unwrap().starts_with("blake3:"));
}

#[test]
fn every_command_has_help_with_an_example() {
    let scratch = Scratch::new();
    for command in [
        &["--help"][..],
        &["invoke", "--help"],
        &["plugin", "inspect", "--help"],
    ] {
        let run = scratch.host(command);
        run.expect_code(0);
        assert!(
            run.stdout.contains("Example"),
            "{command:?}:\n{}",
            run.stdout
        );
    }
}
