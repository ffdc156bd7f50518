//! Plugins in Python, JavaScript and C, built from source with their languages' own
//! toolchains (componentize-py, componentize-js, clang + wit-bindgen + wasm-tools), run
//! by the real `host`; the lead follow-up using two of them; `host run --build`.

use baton_tests::{Run, Scratch, plugin, workspace_root};
use serde_json::{Value, json};

/// `host invoke` of plugin `package` on `input` with `--config` values.
fn invoke_with(scratch: &Scratch, package: &str, input: &Value, config: &[&str]) -> Run {
    let component = plugin(package);
    let input = input.to_string();
    let mut args = vec!["invoke", component.to_str().unwrap(), "--input", &input];
    for value in config {
        args.extend(["--config", value]);
    }
    scratch.host(&args)
}

fn invoke(scratch: &Scratch, package: &str, input: &Value) -> Value {
    invoke_with(scratch, package, input, &[])
        .expect_code(0)
        .json()
}

fn kinds(draft: &Value) -> Vec<&str> {
    draft["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect()
}

#[test]
fn the_python_tone_checker_flags_spam_pushiness_length_and_reading_level() {
    let scratch = Scratch::with_shared_cache();
    let clean = "Hi Dana,\n\nYou asked for a quote, so I have put together pricing for Acme based on what you described. \
                 Would it help if I sent over a short plan with the options that fit, so you can decide quickly?\n\nBest,\nSam";
    let spammy = "Hi Dana,\n\nAct now! This FREE upgrade is a limited time offer and you need to reply today!\n\nBest,\nSam";
    let dense = "Hi Dana,\n\nOrganizational transformation initiatives necessitate comprehensive evaluation \
                 of interdependencies, considering institutional considerations, regulatory documentation, \
                 and operational sustainability alongside quantifiable profitability indicators.\n\nBest,\nSam";
    let out = invoke(
        &scratch,
        "tone-checker",
        &json!({"drafts": [
            {"subject": "Acme: next step on your quote", "body": clean},
            {"subject": "Last chance", "body": spammy},
            {"subject": "A note", "body": dense},
        ]}),
    );
    let drafts = out["drafts"].as_array().unwrap();
    assert_eq!(drafts[0]["pass"], true, "{}", drafts[0]);
    assert!(kinds(&drafts[1]).contains(&"spam-trigger"), "{}", drafts[1]);
    assert!(kinds(&drafts[1]).contains(&"pushy"), "{}", drafts[1]);
    let details = drafts[1]["flags"].to_string();
    for expected in [
        "act now",
        "free",
        "limited time",
        "you need to",
        "last chance",
    ] {
        assert!(
            details.contains(expected),
            "{expected} not flagged: {details}"
        );
    }
    assert!(
        kinds(&drafts[2]).contains(&"reading-level"),
        "{}",
        drafts[2]
    );
    assert!(drafts[2]["reading_grade"].as_f64().unwrap() > 10.0);
    assert_eq!(out["pass"], false);
    assert_eq!(out["summary"], "1 of 3 drafts pass");
    assert!(
        out["flags"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f.as_str().unwrap().starts_with("draft "))
    );
}

#[test]
fn the_python_tone_checker_reads_its_limits_from_config_and_names_a_bad_one() {
    let scratch = Scratch::with_shared_cache();
    let input = json!({"drafts": [{"subject": "Hello", "body": "Hi Dana, a short note to say thanks for the call today and that the plan is on its way to you now."}]});
    let strict = invoke_with(&scratch, "tone-checker", &input, &["max-words=5"])
        .expect_code(0)
        .json();
    assert!(kinds(&strict["drafts"][0]).contains(&"length"), "{strict}");
    invoke_with(&scratch, "tone-checker", &input, &["max-words=many"])
        .expect_code(2)
        .stderr_has("config `max-words` = 'many' is not a number");
}

#[test]
fn the_javascript_utm_tagger_tags_every_link_and_keeps_existing_parameters() {
    let scratch = Scratch::with_shared_cache();
    let out = invoke(
        &scratch,
        "utm-tagger",
        &json!({"campaign": "spring", "content": {
            "subject": "See https://brightline.example/pricing.",
            "body": "Book: https://brightline.example/book?rep=sam&utm_source=partner\nElsewhere: https://other.example/x",
            "links": ["https://brightline.example/a"],
        }}),
    );
    let content = &out["content"];
    assert_eq!(
        content["subject"],
        "See https://brightline.example/pricing?utm_source=baton&utm_medium=email&utm_campaign=spring&utm_content=subject."
    );
    let body = content["body"].as_str().unwrap();
    // An existing utm_source is kept, the missing ones are added.
    assert!(
        body.contains(
            "rep=sam&utm_source=partner&utm_medium=email&utm_campaign=spring&utm_content=body"
        ),
        "{body}"
    );
    assert!(
        content["links"][0]
            .as_str()
            .unwrap()
            .ends_with("utm_content=links.0")
    );
    assert_eq!(out["tagged"].as_array().unwrap().len(), 4);

    // With `domains`, only those links are tagged.
    let input = json!({"content": "a https://brightline.example/x and https://other.example/y"});
    let only = invoke_with(
        &scratch,
        "utm-tagger",
        &input,
        &["domains=brightline.example"],
    )
    .expect_code(0)
    .json();
    let text = only["content"].as_str().unwrap();
    assert!(
        text.contains("https://brightline.example/x?utm_source=baton"),
        "{text}"
    );
    assert!(text.ends_with("https://other.example/y"), "{text}");
}

#[test]
fn the_c_email_checker_finds_typos_role_accounts_and_malformed_addresses() {
    let scratch = Scratch::with_shared_cache();
    let out = invoke(
        &scratch,
        "email-checker",
        &json!({"addresses": [
            "Dana Ortiz <Dana.Ortiz@ACME.com>",
            "sales@northwind.example",
            "lee@gmial.com",
            "pat@gmail.com",
            "not-an-address",
            "x..y@bad",
            "Zoë <zoë@example.com>",
        ]}),
    );
    let results = out["results"].as_array().unwrap();
    assert_eq!(out["checked"], 7);
    assert_eq!(results[0]["normalized"], "Dana.Ortiz@acme.com");
    assert_eq!(results[0]["valid"], true);
    assert_eq!(results[1]["role_account"], true);
    assert_eq!(results[2]["suggestion"], "lee@gmail.com");
    assert_eq!(results[2]["valid"], false);
    assert_eq!(results[3]["free_mail"], true);
    assert_eq!(results[4]["issues"], json!(["no @"]));
    assert_eq!(results[5]["issues"].as_array().unwrap().len(), 2);
    // Text travels as UTF-8 both ways; a non-ASCII local part is not allowed.
    assert_eq!(results[6]["address"], "Zoë <zoë@example.com>");
    assert_eq!(results[6]["valid"], false);
    assert_eq!(out["valid"], 3);
}

#[test]
fn a_compiled_python_or_javascript_plugin_loads_from_the_cache_the_second_time() {
    // The cache the other tests share: these components take seconds of CPU to
    // compile, and a private cache compiled both again. Whichever test loads one first
    // compiles it (that a fresh cache compiles is tests/all/cache.rs's business); from
    // then on every load must be a hit.
    let scratch = Scratch::with_shared_cache();
    for package in ["tone-checker", "utm-tagger"] {
        let component = plugin(package);
        let input = std::fs::read_to_string(
            workspace_root()
                .join("plugins")
                .join(package)
                .join("test-input.json"),
        )
        .unwrap();
        let args = [
            "invoke",
            component.to_str().unwrap(),
            "--input",
            &input,
            "-v",
        ];
        let first = scratch.host(&args);
        first.expect_code(0);
        assert!(
            first.stderr.contains("(Compiled)") || first.stderr.contains("(Hit)"),
            "{package}: the first load says neither compiled nor hit:\n{}",
            first.stderr
        );
        scratch.host(&args).expect_code(0).stderr_has("(Hit)");
    }
}

#[test]
fn the_lead_followup_shows_the_tone_flags_at_its_gate_and_tags_the_approved_links() {
    let scratch = Scratch::with_shared_cache();
    let workflow = scratch.example_workflow("examples/lead-followup/workflow.toml");
    let leads = workspace_root().join("examples/leads.json");
    let out = scratch
        .host(&[
            "run",
            workflow.to_str().unwrap(),
            "--input",
            leads.to_str().unwrap(),
            "--json",
        ])
        .expect_code(3)
        .json();
    let request = &out["decisions"][0]["request"];
    assert_eq!(request["context"]["tone"], "1 of 3 drafts pass");
    let flags = request["context"]["flags"].as_array().unwrap();
    assert!(
        flags
            .iter()
            .any(|f| f.as_str().unwrap().starts_with("draft 2: reading grade")),
        "{flags:?}"
    );
    let run = out["run"].as_str().unwrap();
    let inbox = scratch.host(&["inbox"]).expect_code(0).stdout.clone();
    assert!(inbox.contains("tone: 1 of 3 drafts pass"), "{inbox}");

    scratch
        .host(&["approve", &format!("{run}/review"), "--choice", "2"])
        .expect_code(0);
    let queued = scratch
        .host(&["show", run, "--step", "queue"])
        .expect_code(0)
        .json();
    let message = queued["message"].as_str().unwrap();
    assert!(
        message.contains("https://brightline.example/book/sam-rivera?utm_source=baton&utm_medium=email&utm_campaign=lead-follow-up&utm_content=body"),
        "{message}"
    );
}

/// Sets `path`'s modification time `seconds` into the future.
fn touch(path: &std::path::Path, seconds: u64) {
    let at = std::time::SystemTime::now() + std::time::Duration::from_secs(seconds);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(at)
        .unwrap();
}

#[test]
fn run_build_rebuilds_only_plugins_whose_sources_changed() {
    let scratch = Scratch::with_shared_cache();
    let built = plugin("lead-scorer");
    let source = scratch.file("src/scorer.wasm", std::fs::read(&built).unwrap());
    let workflow = scratch.workflow(
        "build.toml",
        r#"
name = "build"
[plugins.scorer]
source = "out/scorer.wasm"
build = { command = "mkdir -p ../out && cp scorer.wasm ../out/ && echo built >> ../builds.log", dir = "src", watch = ["*.wasm"] }

[[steps]]
id = "score"
uses = "scorer"
input = { leads = [] }
"#,
    );
    let workflow = workflow.to_str().unwrap();
    let builds = || {
        std::fs::read_to_string(scratch.path().join("builds.log"))
            .unwrap_or_default()
            .lines()
            .count()
    };

    // Missing: built.
    scratch
        .host(&["run", workflow, "--build"])
        .expect_code(0)
        .stderr_has("building plugin scorer");
    assert_eq!(builds(), 1);
    // Up to date: not built again.
    scratch
        .host(&["run", workflow, "--build"])
        .expect_code(0)
        .stderr_has("plugin scorer is up to date");
    assert_eq!(builds(), 1);
    // A watched file newer than the component: built again.
    touch(&source, 5);
    scratch
        .host(&["run", workflow, "--build"])
        .expect_code(0)
        .stderr_has("scorer.wasm changed");
    assert_eq!(builds(), 2);
    // Without --build nothing is built.
    touch(&source, 10);
    scratch.host(&["run", workflow]).expect_code(0);
    assert_eq!(builds(), 2);
}

#[test]
fn a_failing_build_names_the_plugin_and_where_its_build_is_written() {
    let scratch = Scratch::with_shared_cache();
    let workflow = scratch.workflow(
        "broken.toml",
        r#"
name = "broken"
[plugins.drafter]
source = "drafter.wasm"
build = "exit 7"

[[steps]]
id = "draft"
uses = "drafter"
"#,
    );
    scratch
        .host(&["run", workflow.to_str().unwrap(), "--build"])
        .expect_code(2)
        .stderr_has("building plugin drafter failed: `exit 7` exited with exit status: 7")
        .stderr_has("broken.toml:4:");
    scratch
        .host(&["run", workflow.to_str().unwrap(), "--dry-run"])
        .expect_code(2)
        .stderr_has("drafter.wasm");
}
