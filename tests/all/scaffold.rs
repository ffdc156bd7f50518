//! `host plugin new` for each language: the folder it creates builds with its own
//! build script and passes `host invoke` as created; and `docs/plugins.md` shows
//! exactly the code it creates, so every snippet there is built and run here.

use std::path::Path;
use std::process::Command;

use baton_tests::{Scratch, polyglot_plugin, workspace_root};

/// Creates plugin `name` in `lang` in the scratch directory, builds it and invokes it
/// on its test input.
fn create_build_invoke(scratch: &Scratch, name: &str, lang: &str) {
    let dir = scratch.path().join(name);
    scratch
        .host(&[
            "plugin",
            "new",
            name,
            "--lang",
            lang,
            "--dir",
            dir.to_str().unwrap(),
        ])
        .expect_code(0);
    if lang == "js" {
        // componentize-js is already installed for the utm tagger: reuse it rather
        // than download it again for every test run.
        polyglot_plugin("utm-tagger");
        std::os::unix::fs::symlink(
            workspace_root().join("plugins/utm-tagger/node_modules"),
            dir.join("node_modules"),
        )
        .unwrap();
    }
    let target = workspace_root().join("target");
    let status = Command::new(dir.join("build.sh"))
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .unwrap();
    assert!(status.success(), "{lang}: build.sh failed");
    let component = dir.join(format!("{}.wasm", name.replace('-', "_")));
    let input = dir.join("test-input.json");
    let out = scratch.host(&[
        "invoke",
        component.to_str().unwrap(),
        "--input-file",
        input.to_str().unwrap(),
    ]);
    out.expect_code(0);
    assert_eq!(out.json()["words"], 6, "{lang}");
    assert!(
        out.stderr
            .contains(&format!("[{name}] info: counted 6 words")),
        "{}",
        out.stderr
    );
    // The schema is enforced for the generated plugin like for any other.
    scratch
        .host(&[
            "invoke",
            component.to_str().unwrap(),
            "--input",
            "{\"text\": 5}",
        ])
        .expect_code(2)
        .stderr_has("does not match the plugin's input schema");
}

#[test]
fn a_new_rust_plugin_builds_and_runs_as_created() {
    create_build_invoke(&Scratch::with_shared_cache(), "scaffold-rust", "rust");
}

#[test]
fn a_new_python_plugin_builds_and_runs_as_created() {
    create_build_invoke(&Scratch::with_shared_cache(), "scaffold-python", "python");
}

#[test]
fn a_new_javascript_plugin_builds_and_runs_as_created() {
    create_build_invoke(&Scratch::with_shared_cache(), "scaffold-js", "js");
}

#[test]
fn plugin_new_refuses_a_bad_name_and_a_folder_in_use() {
    let scratch = Scratch::new();
    scratch
        .host(&["plugin", "new", "Word Count", "--lang", "rust"])
        .expect_code(2)
        .stderr_has("must be lowercase letters, digits and dashes");
    let used = scratch.file("used/keep.txt", "mine");
    scratch
        .host(&[
            "plugin",
            "new",
            "used",
            "--lang",
            "python",
            "--dir",
            used.parent().unwrap().to_str().unwrap(),
        ])
        .expect_code(2)
        .stderr_has("already exists and is not empty");
    assert_eq!(std::fs::read_to_string(&used).unwrap(), "mine");
}

/// The code blocks of `docs/plugins.md` that follow `<!-- created: LANG PATH -->`.
fn doc_snippets(doc: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line
            .strip_prefix("<!-- created: ")
            .and_then(|r| r.strip_suffix(" -->"))
        else {
            continue;
        };
        let (lang, path) = rest.split_once(' ').expect("<!-- created: LANG PATH -->");
        let fence = lines.next().expect("a code block after the marker");
        assert!(
            fence.starts_with("```"),
            "the marker for {path} is not followed by a code block"
        );
        let mut code = String::new();
        for line in lines.by_ref() {
            if line.starts_with("```") {
                break;
            }
            code.push_str(line);
            code.push('\n');
        }
        out.push((lang.to_string(), path.to_string(), code));
    }
    out
}

#[test]
fn the_authors_guide_shows_exactly_what_plugin_new_creates() {
    let scratch = Scratch::new();
    let doc = std::fs::read_to_string(workspace_root().join("docs/plugins.md")).unwrap();
    let snippets = doc_snippets(&doc);
    for lang in ["rust", "python", "js"] {
        assert!(
            snippets.iter().any(|(l, _, _)| l == lang),
            "docs/plugins.md shows no {lang} plugin"
        );
        let dir = scratch.path().join(lang);
        scratch
            .host(&[
                "plugin",
                "new",
                "word-count",
                "--lang",
                lang,
                "--dir",
                dir.to_str().unwrap(),
            ])
            .expect_code(0);
    }
    for (lang, path, code) in &snippets {
        let created = std::fs::read_to_string(Path::new(&scratch.path().join(lang)).join(path))
            .unwrap_or_else(|e| panic!("{lang} {path}: {e}"));
        assert_eq!(
            &created, code,
            "docs/plugins.md's {lang} {path} differs from what `host plugin new` creates"
        );
    }
}

#[test]
fn the_authors_guides_workflow_snippets_are_valid_workflows() {
    let doc = std::fs::read_to_string(workspace_root().join("docs/plugins.md")).unwrap();
    let mut checked = 0;
    let mut rest = doc.as_str();
    while let Some(start) = rest.find("```toml\n") {
        let body = &rest[start + 8..];
        let end = body.find("```").expect("a closed toml block");
        let text = &body[..end];
        if let Err(problems) = baton_workflow::Workflow::parse(Path::new("docs/plugins.md"), text) {
            panic!("a workflow in docs/plugins.md does not check:\n{problems}\n{text}");
        }
        checked += 1;
        rest = &body[end..];
    }
    assert!(
        checked >= 2,
        "expected the guide's workflow examples, found {checked}"
    );
}
