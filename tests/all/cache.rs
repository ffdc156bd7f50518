//! The precompiled-component cache: hits, integrity checks, and keys per engine.

use std::path::PathBuf;

use baton_tests::{Scratch, plugin};

fn entries(scratch: &Scratch) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(scratch.cache_dir()) else {
        return vec![];
    };
    let mut entries: Vec<PathBuf> = dir
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    entries.sort();
    entries
}

fn invoke_verbose(scratch: &Scratch, extra: &[&str]) -> baton_tests::Run {
    let scorer = plugin("lead-scorer");
    let mut args = vec![
        "invoke",
        scorer.to_str().unwrap(),
        "--input",
        r#"{"leads": []}"#,
        "-v",
    ];
    args.extend_from_slice(extra);
    let run = scratch.host(&args);
    run.expect_code(0);
    run
}

#[test]
fn the_first_load_compiles_and_the_second_comes_from_the_cache() {
    let scratch = Scratch::new();
    invoke_verbose(&scratch, &[]).stderr_has("(Compiled)");
    assert_eq!(entries(&scratch).len(), 1);
    invoke_verbose(&scratch, &[]).stderr_has("(Hit)");
}

#[test]
fn a_tampered_cache_entry_is_recompiled_never_trusted() {
    let scratch = Scratch::new();
    invoke_verbose(&scratch, &[]);
    let entry = entries(&scratch).remove(0);
    let mut bytes = std::fs::read(&entry).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&entry, &bytes).unwrap();

    let run = invoke_verbose(&scratch, &[]);
    run.stderr_has("integrity check failed")
        .stderr_has("(Recompiled");
    // The entry was rewritten whole: the next load is a clean hit.
    let run = invoke_verbose(&scratch, &[]);
    run.stderr_has("(Hit)");
    assert!(!run.stderr.contains("WARN"), "{}", run.stderr);
}

/// Once an entry has been verified and is older than the racy window, loads trust its
/// file stamp instead of hashing it. A byte changed in place, with the modification
/// time set back and the length kept, must still be caught: the change time moved.
#[test]
fn a_tampered_entry_with_its_modification_time_restored_is_still_caught() {
    let scratch = Scratch::new();
    invoke_verbose(&scratch, &[]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    // This load verifies the settled entry and records its stamp; the next one trusts it.
    invoke_verbose(&scratch, &[]).stderr_has("(Hit)");
    invoke_verbose(&scratch, &[]).stderr_has("(Hit)");

    let entry = entries(&scratch).remove(0);
    let modified = std::fs::metadata(&entry).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&entry).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&entry)
        .unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &bytes[middle..middle + 1], middle as u64)
        .unwrap();
    file.set_modified(modified).unwrap();
    drop(file);
    assert_eq!(
        std::fs::metadata(&entry).unwrap().modified().unwrap(),
        modified
    );

    invoke_verbose(&scratch, &[])
        .stderr_has("integrity check failed")
        .stderr_has("(Recompiled");
}

#[test]
fn a_truncated_cache_entry_is_recompiled() {
    let scratch = Scratch::new();
    invoke_verbose(&scratch, &[]);
    let entry = entries(&scratch).remove(0);
    let bytes = std::fs::read(&entry).unwrap();
    std::fs::write(&entry, &bytes[..bytes.len() / 3]).unwrap();
    invoke_verbose(&scratch, &[])
        .stderr_has("truncated")
        .stderr_has("(Recompiled");
}

#[test]
fn another_engine_configuration_gets_its_own_entry() {
    let scratch = Scratch::new();
    invoke_verbose(&scratch, &[]);
    // Fuel changes the generated code, so the artifact must not be shared.
    invoke_verbose(&scratch, &["--fuel", "100000000"]).stderr_has("(Compiled)");
    assert_eq!(entries(&scratch).len(), 2);
}

#[test]
fn no_cache_compiles_without_writing_anything() {
    let scratch = Scratch::new();
    invoke_verbose(&scratch, &["--no-cache"]).stderr_has("(Uncached)");
    assert!(entries(&scratch).is_empty());
}

/// A runtime that compiles on every load (no cache) or caches in `dir`, telling
/// `lines` of compiles longer than `after`.
fn runtime_telling(
    dir: Option<PathBuf>,
    after: std::time::Duration,
    lines: &std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) -> baton_runtime::Runtime {
    let lines = lines.clone();
    baton_runtime::Runtime::new(baton_runtime::RuntimeOptions {
        cache_dir: dir,
        progress: Some(baton_runtime::Progress {
            after,
            tell: std::sync::Arc::new(move |line: &str| lines.lock().unwrap().push(line.into())),
        }),
        ..Default::default()
    })
    .unwrap()
}

#[tokio::test]
async fn a_compile_that_takes_more_than_a_moment_is_said_while_it_runs() {
    let echo = plugin("echo-guest");
    let lines = std::sync::Arc::default();
    // Past the threshold (here: at once), a line when it starts and one when it ends.
    let runtime = runtime_telling(None, std::time::Duration::ZERO, &lines);
    runtime.load(&echo).await.unwrap();
    let said = lines.lock().unwrap().clone();
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(
        said[0].starts_with("  .. compiling plugin echo_guest.wasm (")
            && said[0].ends_with("MB) for its first use; later loads come from the cache"),
        "{said:?}"
    );
    assert!(
        said[1].starts_with("  .. compiled plugin echo_guest.wasm in "),
        "{said:?}"
    );
    // A compile quicker than the threshold says nothing.
    let quiet = std::sync::Arc::default();
    let runtime = runtime_telling(None, std::time::Duration::from_secs(600), &quiet);
    runtime.load(&echo).await.unwrap();
    assert!(quiet.lock().unwrap().is_empty());
}

#[tokio::test]
async fn loading_code_a_live_plugin_holds_reuses_it_and_changed_code_is_loaded_anew() {
    let scratch = Scratch::new();
    let lines = std::sync::Arc::default();
    let runtime = runtime_telling(Some(scratch.cache_dir()), std::time::Duration::ZERO, &lines);
    let path = scratch.file("tool.wasm", std::fs::read(plugin("echo-guest")).unwrap());
    let first = runtime.load(&path).await.unwrap();
    let again = runtime.load(&path).await.unwrap();
    assert_eq!(again.digest(), first.digest());
    assert_eq!(again.info().name, first.info().name);
    let call = baton_runtime::Call::default();
    let echoed = again.invoke(r#"{"a": 1}"#, &call).await.unwrap();
    assert_eq!(echoed.output, serde_json::json!({"a": 1}));
    // Compiled once: the second load neither compiled nor mapped anything.
    assert_eq!(
        lines.lock().unwrap().len(),
        2,
        "{:?}",
        lines.lock().unwrap()
    );
    // The file changes under the same path while the first plugin is alive: the new
    // code is loaded, not the one in memory.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&path, std::fs::read(plugin("lead-scorer")).unwrap()).unwrap();
    let changed = runtime.load(&path).await.unwrap();
    assert_ne!(changed.digest(), first.digest());
    assert_eq!(changed.info().name, "lead-scorer");
    assert_eq!(first.info().name, again.info().name);
}

/// A plugin whose `describe` gives a summary of 10 MiB: more than the default output
/// limit of 8 MiB, less than 64 MiB.
fn ten_mib_description(scratch: &Scratch) -> PathBuf {
    let component = baton_tests::wat_component(
        r#"
  ;; The summary of the tool-info record: (ptr 65536, len 10 MiB).
  (data (i32.const 1040) "\00\00\01\00\00\00\a0\00")
  (func $fill
    (drop (memory.grow (i32.const 161)))
    (memory.fill (i32.const 65536) (i32.const 97) (i32.const 0xa00000)))
  (start $fill)
  (func $attack)"#,
    );
    scratch.file("described.wasm", component)
}

#[test]
fn a_description_from_the_cache_is_held_to_the_output_limit_in_force() {
    let scratch = Scratch::new();
    let plugin = ten_mib_description(&scratch);
    let plugin = plugin.to_str().unwrap();
    let invoke = |extra: &[&str]| {
        let mut args = vec!["invoke", plugin, "--input", "{}"];
        args.extend(extra);
        scratch.host(&args)
    };
    // Allowed with a larger limit, and kept in the cache then.
    invoke(&["--max-output", "64MiB"]).expect_code(0);
    assert_eq!(entries(&scratch).len(), 1);
    // At the default limit the kept description is not taken as it is: `describe`
    // runs again, under 8 MiB, and is stopped at it.
    for _ in 0..2 {
        invoke(&[])
            .expect_code(1)
            .stderr_has("its output limit of 8.0 MiB in one go (limit `max_output`)");
    }
    invoke(&["--max-output", "64MiB"]).expect_code(0);

    // In one process too: two declarations of the same file, with different limits.
    let workflow = scratch.file(
        "two-limits.toml",
        format!(
            "name = \"two-limits\"\n[plugins.roomy]\nsource = {plugin:?}\nlimits = {{ max_output = \"64MiB\" }}\n\
             [plugins.tight]\nsource = {plugin:?}\n[[steps]]\nid = \"a\"\nuses = \"roomy\"\n[[steps]]\nid = \"b\"\nuses = \"tight\"\n"
        ),
    );
    scratch
        .host(&["run", workflow.to_str().unwrap(), "--dry-run"])
        .expect_code(2)
        .stderr_has("tight")
        .stderr_has("its output limit of 8.0 MiB in one go (limit `max_output`)");
}
