//! Every way a file can fail to be a plugin, each with a message that says what to do.

use baton_tests::{Run, Scratch};

fn inspect(scratch: &Scratch, path: &std::path::Path) -> Run {
    scratch.host(&["plugin", "inspect", path.to_str().unwrap()])
}

#[test]
fn a_missing_file_is_a_usage_error_naming_the_path() {
    let scratch = Scratch::new();
    inspect(&scratch, std::path::Path::new("plugins/nope.wasm"))
        .expect_code(2)
        .stderr_has("plugins/nope.wasm does not exist");
}

#[test]
fn an_empty_file_is_refused() {
    let scratch = Scratch::new();
    let path = scratch.file("empty.wasm", b"");
    // A file that is not a plugin at all is bad input (2), as malformed JSON is.
    inspect(&scratch, &path)
        .expect_code(2)
        .stderr_has("plugin \"empty.wasm\" cannot be loaded")
        .stderr_has("is empty; expected a WebAssembly component");
}

#[test]
fn a_file_that_is_not_webassembly_is_refused() {
    let scratch = Scratch::new();
    let path = scratch.file("readme.wasm", b"# not wasm at all\n");
    inspect(&scratch, &path)
        .expect_code(2)
        .stderr_has("is not WebAssembly");
}

#[test]
fn a_core_module_is_refused_with_how_to_make_a_component() {
    let scratch = Scratch::new();
    let path = scratch.wat("core.wasm", r#"(module (func (export "invoke")))"#);
    inspect(&scratch, &path)
        .expect_code(1)
        .stderr_has("is a core WebAssembly module, not a component")
        .stderr_has("wasm32-wasip2");
}

#[test]
fn a_malformed_component_is_refused_with_the_parser_error() {
    let scratch = Scratch::new();
    // A component header followed by a truncated section.
    let path = scratch.file("truncated.wasm", b"\0asm\x0d\0\x01\0\x07\x20\x01");
    inspect(&scratch, &path)
        .expect_code(1)
        .stderr_has("is not a valid component");
}

#[test]
fn a_component_of_another_world_is_refused_listing_its_exports() {
    let scratch = Scratch::new();
    let path = scratch.wat(
        "other-world.wasm",
        r#"(component
            (core module $m (func (export "hello")))
            (core instance $i (instantiate $m))
            (func $hello (canon lift (core func $i "hello")))
            (export "hello" (func $hello)))"#,
    );
    inspect(&scratch, &path)
        .expect_code(1)
        .stderr_has("does not export `baton:plugin/tool`")
        .stderr_has("it exports: hello");
}

#[test]
fn a_component_built_against_another_contract_version_is_refused_naming_both() {
    let scratch = Scratch::new();
    let path = scratch.wat(
        "future.wasm",
        r#"(component (instance $tool) (export "baton:plugin/tool@0.2.0" (instance $tool)))"#,
    );
    inspect(&scratch, &path)
        .expect_code(1)
        .stderr_has("built against contract baton:plugin@0.2.0")
        .stderr_has("this host speaks baton:plugin@0.1.0");
}

#[test]
fn a_tool_export_of_the_wrong_shape_is_refused() {
    let scratch = Scratch::new();
    let path = scratch.wat(
        "hollow.wasm",
        r#"(component (instance $tool) (export "baton:plugin/tool@0.1.0" (instance $tool)))"#,
    );
    inspect(&scratch, &path)
        .expect_code(1)
        .stderr_has("exports `baton:plugin/tool` with the wrong shape");
}

#[test]
fn an_import_the_host_does_not_provide_is_named() {
    let scratch = Scratch::new();
    let path = scratch.wat(
        "needs-vault.wasm",
        r#"(component
            (import "acme:secrets/vault@1.0.0" (instance (export "read" (func (result string)))))
            (instance $tool)
            (export "baton:plugin/tool@0.1.0" (instance $tool)))"#,
    );
    let run = inspect(&scratch, &path);
    run.expect_code(1)
        .stderr_has("imports `acme:secrets/vault@1.0.0`, which this host does not provide");
    let json = scratch
        .host(&["plugin", "inspect", path.to_str().unwrap(), "--json"])
        .expect_code(1)
        .stderr_json();
    assert_eq!(json["error"]["kind"], "load");
    assert_eq!(json["error"]["plugin"], "needs-vault.wasm");
}
