//! `host plugin new` for each language: the folder it creates builds with its own
//! build script and passes `host invoke` as created; and `docs/plugins.md` shows
//! exactly the code it creates, so every snippet there is built and run here.

use std::process::Command;

use baton_tests::{Scratch, workspace_root};

/// Creates plugin `name` in `lang` (with `flags`, e.g. `--with kv`) in the scratch
/// directory and builds it with its build script, as a new author would (npm, for
/// JavaScript: from npm's cache once the utm tagger has been built). Returns the
/// folder and the component, and what `plugin new` printed.
fn create_and_build(
    scratch: &Scratch,
    name: &str,
    lang: &str,
    flags: &[&str],
) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let dir = scratch.path().join(name);
    let mut args = vec![
        "plugin",
        "new",
        name,
        "--lang",
        lang,
        "--dir",
        dir.to_str().unwrap(),
    ];
    args.extend(flags);
    let created = scratch.host(&args);
    created.expect_code(0);
    let status = baton_tests::clear_cargo_test_env(&mut Command::new(dir.join("build.sh")))
        .env("CARGO_TARGET_DIR", workspace_root().join("target"))
        .status()
        .unwrap();
    assert!(status.success(), "{lang}: build.sh failed");
    let component = dir.join(format!("{}.wasm", name.replace('-', "_")));
    (dir, component, created.stdout.clone())
}

/// Creates plugin `name` in `lang` in the scratch directory, builds it and invokes it
/// on its test input.
fn create_build_invoke(scratch: &Scratch, name: &str, lang: &str) {
    let (dir, component, _) = create_and_build(scratch, name, lang, &[]);
    let target = workspace_root().join("target");
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
    // A build that fails leaves no component behind: the old one is not tried again
    // by mistake, with an error that points the author the wrong way.
    // For JavaScript, what the guide warns of: the engine has no Unicode property
    // escapes in regular expressions.
    let (source, broken, said) = match lang {
        "rust" => (
            "src/lib.rs",
            "compile_error!(\"broken on purpose\");\n",
            "broken on purpose",
        ),
        "python" => ("app.py", "def broken(:\n", "SyntaxError"),
        _ => (
            "app.js",
            "const letters = /\\p{L}+/u;\n",
            "SyntaxError: invalid property name in regular expression",
        ),
    };
    let source = dir.join(source);
    let mut text = std::fs::read_to_string(&source).unwrap();
    text.push_str(broken);
    std::fs::write(&source, text).unwrap();
    let built = baton_tests::clear_cargo_test_env(&mut Command::new(dir.join("build.sh")))
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(!built.status.success(), "{lang}: a broken source built");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    assert!(printed.contains(said), "{lang}: {printed}");
    assert!(
        !component.exists(),
        "{lang}: the old component was left behind"
    );
}

/// Creates plugin `name` in `lang` `--with kv`, builds it, and invokes it twice with
/// one kv directory: the second call finds what the first kept. Without the grant it
/// is denied, in the words that say how to grant it.
fn create_build_invoke_with_kv(scratch: &Scratch, name: &str, lang: &str) {
    let (dir, component, printed) = create_and_build(scratch, name, lang, &["--with", "kv"]);
    assert!(printed.contains("--grant-kv --kv-dir"), "{printed}");
    let component = component.to_str().unwrap();
    let input = dir.join("test-input.json");
    let input = input.to_str().unwrap();
    let kv = dir.join("kv-data");
    let kv = kv.to_str().unwrap();
    let inspect = scratch.host(&["plugin", "inspect", component]);
    inspect.expect_code(0).stdout_has("capabilities   kv");
    for texts in [1, 2] {
        let out = scratch.host(&[
            "invoke",
            component,
            "--input-file",
            input,
            "--grant-kv",
            "--kv-dir",
            kv,
        ]);
        out.expect_code(0)
            .stderr_has(&format!("  texts = {texts} (1 B)"));
        assert_eq!(out.json()["texts"], texts, "{lang}");
        assert_eq!(out.json()["words"], 6, "{lang}");
    }
    scratch
        .host(&["invoke", component, "--input-file", input])
        .expect_code(1)
        .stderr_has("was denied a capability: kv: kv is not granted to this plugin; grant it in the workflow");
    // A quota too small for one value is `denied` too, naming the quota.
    scratch
        .host(&[
            "invoke",
            component,
            "--input-file",
            input,
            "--grant-kv",
            "--kv-quota",
            "1B",
        ])
        .expect_code(1)
        .stderr_has("kv: byte quota reached");
}

#[test]
fn a_new_rust_plugin_builds_and_runs_as_created() {
    let scratch = Scratch::with_shared_cache();
    create_build_invoke(&scratch, "scaffold-rust", "rust");
    create_build_invoke_with_kv(&scratch, "scaffold-rust-kv", "rust");
}

#[test]
fn a_new_python_plugin_builds_and_runs_as_created() {
    let scratch = Scratch::with_shared_cache();
    create_build_invoke(&scratch, "scaffold-python", "python");
    create_build_invoke_with_kv(&scratch, "scaffold-python-kv", "python");
    bundles_a_package_and_a_data_file(&scratch);
}

/// What the guide says of Python: a package from a folder given with `-p` is bundled,
/// and a data file read at import is kept in the component, so it works without the
/// file; read inside `invoke`, the file is not there.
fn bundles_a_package_and_a_data_file(scratch: &Scratch) {
    let dir = scratch.path().join("bundled");
    scratch
        .host(&[
            "plugin",
            "new",
            "bundled",
            "--lang",
            "python",
            "--dir",
            dir.to_str().unwrap(),
        ])
        .expect_code(0);
    std::fs::create_dir_all(dir.join("deps/shouting")).unwrap();
    std::fs::write(
        dir.join("deps/shouting/__init__.py"),
        "def shout(text):\n    return text.upper()\n",
    )
    .unwrap();
    std::fs::write(dir.join("stopwords.txt"), "from\na\n").unwrap();
    let app = std::fs::read_to_string(dir.join("app.py")).unwrap();
    let app = app
        .replacen(
            "import json\n",
            "import json\nimport os\n\nimport shouting\n\n\
             STOPWORDS = open(os.path.join(os.path.dirname(__file__), \"stopwords.txt\")).read().split()\n",
            1,
        )
        .replace(
            "        words = len(text.split())\n",
            "        words = len([w for w in text.split() if w.lower() not in STOPWORDS])\n\
             \x20       try:\n\
             \x20           open(os.path.join(os.path.dirname(__file__), \"stopwords.txt\"))\n\
             \x20           log.write(log.Level.WARN, \"the file is there at run time\")\n\
             \x20       except OSError:\n\
             \x20           log.write(log.Level.INFO, shouting.shout(\"no file at run time\"))\n",
        );
    std::fs::write(dir.join("app.py"), app).unwrap();
    let component = dir.join("bundled.wasm");
    let built = Command::new("componentize-py")
        .args([
            "--wit-path",
            "wit",
            "--world",
            "plugin",
            "componentize",
            "app",
            "-p",
            ".",
            "-p",
            "deps",
            "-o",
        ])
        .arg(&component)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    std::fs::remove_file(dir.join("stopwords.txt")).unwrap();
    let out = scratch.host(&[
        "invoke",
        component.to_str().unwrap(),
        "--input-file",
        dir.join("test-input.json").to_str().unwrap(),
    ]);
    // "Hello from a new Baton plugin": 6 words, "from" and "a" stop words.
    assert_eq!(out.expect_code(0).json()["words"], 4);
    out.stderr_has("[bundled] info: NO FILE AT RUN TIME");
}

#[test]
fn a_new_javascript_plugin_builds_and_runs_as_created() {
    let scratch = Scratch::with_shared_cache();
    create_build_invoke(&scratch, "scaffold-js", "js");
    create_build_invoke_with_kv(&scratch, "scaffold-js-kv", "js");
}

#[test]
fn plugin_new_refuses_a_bad_name_and_a_folder_in_use() {
    let scratch = Scratch::new();
    scratch
        .host(&["plugin", "new", "Word Count", "--lang", "rust"])
        .expect_code(2)
        .stderr_has("must be 1 to 64 lowercase letters, digits and dashes");
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

/// A fenced block of `docs/plugins.md`: its language, its text, and the marker before
/// it, if any: `<!-- created: LANG PATH [FLAGS] -->` for a file as `host plugin new
/// --lang LANG [FLAGS]` creates it, `<!-- excerpt: LANG PATH [FLAGS] -->` for lines
/// of one, `<!-- file: PATH -->` for a file the reader writes (e.g. the C plugin).
struct Block {
    fence: String,
    body: String,
    created: Option<Created>,
    file: Option<String>,
}

/// Where a block comes from: `host plugin new --lang LANG FLAGS`' file PATH, whole or
/// an excerpt.
#[derive(Clone)]
struct Created {
    lang: String,
    path: String,
    flags: Vec<String>,
    whole: bool,
}

fn doc_blocks(doc: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut created = None;
    let mut file = None;
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        if let Some(path) = line
            .strip_prefix("<!-- file: ")
            .and_then(|r| r.strip_suffix(" -->"))
        {
            file = Some(path.to_string());
            continue;
        }
        for (prefix, whole) in [("<!-- created: ", true), ("<!-- excerpt: ", false)] {
            if let Some(rest) = line
                .strip_prefix(prefix)
                .and_then(|r| r.strip_suffix(" -->"))
            {
                let mut words = rest.split(' ').map(str::to_string);
                let (Some(lang), Some(path)) = (words.next(), words.next()) else {
                    panic!("{line}: not {prefix}LANG PATH [FLAGS] -->");
                };
                created = Some(Created {
                    lang,
                    path,
                    flags: words.collect(),
                    whole,
                });
            }
        }
        if created.is_some() && line.starts_with("<!-- ") {
            continue;
        }
        let Some(fence) = line.strip_prefix("```") else {
            assert!(
                (created.is_none() && file.is_none()) || line.is_empty(),
                "a marker is not followed by a code block"
            );
            continue;
        };
        let mut body = String::new();
        for line in lines.by_ref() {
            if line.starts_with("```") {
                break;
            }
            body.push_str(line);
            body.push('\n');
        }
        blocks.push(Block {
            fence: fence.to_string(),
            body,
            created: created.take(),
            file: file.take(),
        });
    }
    blocks
}

/// The blocks in `language` that readers run, not files they write or `host plugin new`
/// creates.
fn runnable(blocks: &[Block], language: &str) -> Vec<String> {
    blocks
        .iter()
        .filter(|b| b.fence == language && b.created.is_none() && b.file.is_none())
        .map(|b| b.body.clone())
        .collect()
}

#[test]
fn the_authors_guide_shows_exactly_what_plugin_new_creates() {
    let scratch = Scratch::new();
    let doc = std::fs::read_to_string(workspace_root().join("docs/plugins.md")).unwrap();
    let snippets: Vec<(Created, String)> = doc_blocks(&doc)
        .into_iter()
        .filter_map(|b| b.created.map(|created| (created, b.body)))
        .collect();
    for lang in ["rust", "python", "js"] {
        for flags in [&[][..], &["--with", "kv"][..]] {
            let whole = flags.is_empty();
            assert!(
                snippets
                    .iter()
                    .any(|(c, _)| c.lang == lang && c.flags == flags && c.whole == whole),
                "docs/plugins.md shows no {lang} plugin created with {flags:?}"
            );
        }
    }
    let mut made = std::collections::BTreeSet::new();
    for (created, code) in &snippets {
        let dir = scratch
            .path()
            .join(format!("{}{}", created.lang, created.flags.join("")));
        if made.insert(dir.clone()) {
            let mut args = vec![
                "plugin",
                "new",
                "word-count",
                "--lang",
                &created.lang,
                "--dir",
                dir.to_str().unwrap(),
            ];
            args.extend(created.flags.iter().map(String::as_str));
            scratch.host(&args).expect_code(0);
        }
        let (lang, path) = (&created.lang, &created.path);
        let file = std::fs::read_to_string(dir.join(path))
            .unwrap_or_else(|e| panic!("{lang} {path}: {e}"));
        if created.whole {
            assert_eq!(
                &file, code,
                "docs/plugins.md's {lang} {path} differs from what `host plugin new` creates"
            );
        } else {
            assert!(
                file.contains(code.as_str()),
                "docs/plugins.md's excerpt of {lang} {path} {:?} is not in what `host plugin new` creates:\n{code}",
                created.flags
            );
        }
    }
}

#[test]
fn the_authors_guides_commands_and_workflows_run() {
    let scratch = Scratch::with_shared_cache();
    let doc = std::fs::read_to_string(workspace_root().join("docs/plugins.md")).unwrap();
    let host_dir = baton_tests::host_binary().parent().unwrap().to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(host_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();

    // The files the guide has the reader write, then every shell block, in order, in
    // one folder, as a reader would type them.
    let blocks = doc_blocks(&doc);
    for block in &blocks {
        if let Some(path) = &block.file {
            scratch.file(path, &block.body);
        }
    }
    let commands = runnable(&blocks, "sh");
    let mut printed = String::new();
    assert!(
        commands.len() >= 2,
        "the guide has {} shell blocks",
        commands.len()
    );
    for block in &commands {
        let out = baton_tests::clear_cargo_test_env(&mut Command::new("sh"))
            .args(["-ec", block])
            .current_dir(scratch.path())
            .env("PATH", &path)
            .env("BATON_CACHE_DIR", scratch.cache_dir())
            .env("BATON_STATE", scratch.state_dir())
            .env("CARGO_TARGET_DIR", workspace_root().join("target"))
            .env("ADAPTER", baton_tests::preview1_adapter())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        printed.push_str(&String::from_utf8_lossy(&out.stdout));
        assert!(
            out.status.success(),
            "this block of docs/plugins.md failed:\n{block}\n{stderr}"
        );
    }
    // The Rust word counter and the C byte counter both answered, and the C call
    // counter found in kv what its first call kept.
    assert!(printed.contains("\"words\": 6"), "{printed}");
    assert!(printed.contains("\"bytes\": "), "{printed}");
    assert!(printed.contains("\"calls\": 2"), "{printed}");
    // The gate's alternative 1 was approved, and is the gate's output.
    assert!(
        printed.contains(
            "Approved an alternative: {\"text\":\"HELLO FROM A NEW BATON PLUGIN\",\"words\":6}"
        ),
        "{printed}"
    );

    // Every workflow, checked against the plugin those commands built.
    let workflows = runnable(&blocks, "toml");
    assert!(
        workflows.len() >= 2,
        "the guide has {} workflows",
        workflows.len()
    );
    for (index, text) in workflows.iter().enumerate() {
        let file = scratch.file(&format!("guide-{index}.toml"), text);
        let plan = scratch.host(&["run", file.to_str().unwrap(), "--dry-run"]);
        plan.expect_code(0);
        assert!(plan.stdout.contains("counter"), "{}", plan.stdout);
        if text.contains("build =") {
            assert!(
                plan.stdout.contains("build:    ./build.sh"),
                "{}",
                plan.stdout
            );
            assert!(plan.stdout.contains("up to date"), "{}", plan.stdout);
        }
    }
}
