//! `host plugin new NAME --lang rust|python|js`: a plugin folder that builds and runs as
//! created: the contract (`wit/`), a `describe` with schemas, an `invoke` that works, a
//! build script and a test input.

use std::path::{Path, PathBuf};

use crate::exit::{Exit, Failure};
use crate::terminal::say;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Lang {
    /// Rust with wit-bindgen (`rustup target add wasm32-wasip2`)
    Rust,
    /// Python with componentize-py (`pip install componentize-py==0.25.1`)
    Python,
    /// JavaScript with componentize-js (installed by the build script with npm)
    Js,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  host plugin new word-count --lang python\n  \
    ./word-count/build.sh && host invoke word-count/word_count.wasm --input-file word-count/test-input.json\n  \
    host plugin new text-tally --lang js --with kv"
)]
pub struct Args {
    /// The plugin's name: lowercase letters, digits and dashes, e.g. `word-count`
    name: String,
    /// The language to write it in
    #[arg(long, value_enum)]
    lang: Lang,
    /// The folder to create [default: ./NAME]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Capabilities the plugin uses, with working code for each (repeatable)
    #[arg(long = "with", value_enum, value_name = "CAPABILITY")]
    with: Vec<With>,
}

/// What `--with` can add to a new plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum With {
    /// Durable key-value data: the plugin counts the texts it has seen in kv
    Kv,
}

/// The contract, as the host that creates the plugin speaks it.
const WIT: &[(&str, &str)] = &[
    ("wit/world.wit", include_str!("../../../../wit/world.wit")),
    ("wit/tool.wit", include_str!("../../../../wit/tool.wit")),
    ("wit/log.wit", include_str!("../../../../wit/log.wit")),
    ("wit/config.wit", include_str!("../../../../wit/config.wit")),
    ("wit/kv.wit", include_str!("../../../../wit/kv.wit")),
    ("wit/llm.wit", include_str!("../../../../wit/llm.wit")),
];

/// (path in the new folder, template, executable).
fn templates(lang: Lang) -> &'static [(&'static str, &'static str, bool)] {
    match lang {
        Lang::Rust => &[
            (
                "Cargo.toml",
                include_str!("../../templates/rust/Cargo.toml.j2"),
                false,
            ),
            (
                "src/lib.rs",
                include_str!("../../templates/rust/src/lib.rs"),
                false,
            ),
            (
                "build.sh",
                include_str!("../../templates/rust/build.sh"),
                true,
            ),
        ],
        Lang::Python => &[
            (
                "app.py",
                include_str!("../../templates/python/app.py"),
                false,
            ),
            (
                "build.sh",
                include_str!("../../templates/python/build.sh"),
                true,
            ),
        ],
        Lang::Js => &[
            ("app.js", include_str!("../../templates/js/app.js"), false),
            (
                "package.json",
                include_str!("../../templates/js/package.json"),
                false,
            ),
            (
                "build.sh",
                include_str!("../../templates/js/build.sh"),
                true,
            ),
        ],
    }
}

const TEST_INPUT: &str = "{\"text\": \"Hello from a new Baton plugin\"}\n";

pub fn run(args: Args) -> Result<Exit, Failure> {
    let name = &args.name;
    // The name `describe` will give, and a crate or package name: so also a letter first.
    if !baton_core::is_tool_name(name) || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(Failure::Usage(format!(
            "plugin name {name:?} must be 1 to 64 lowercase letters, digits and dashes, starting with a letter, e.g. word-count"
        )));
    }
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(name));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(Failure::Usage(format!(
            "{} already exists and is not empty; choose another name or --dir",
            dir.display()
        )));
    }
    let file = name.replace('-', "_");
    let mut env = minijinja::Environment::new();
    // A line holding only `{% if .. %}` leaves nothing behind, and a file keeps its
    // last newline.
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| Failure::Host(format!("template syntax: {e}")))?,
    );
    let kv = args.with.contains(&With::Kv);
    let values = minijinja::context! { name => name, file => &file, kv => kv };
    let mut written = Vec::new();
    for (path, template, executable) in templates(args.lang) {
        let text = env
            .render_str(template, &values)
            .map_err(|e| Failure::Host(format!("template {path}: {e}")))?;
        write(&dir, path, &text, *executable)?;
        written.push(*path);
    }
    for (path, text) in WIT {
        write(&dir, path, text, false)?;
    }
    write(&dir, "test-input.json", TEST_INPUT, false)?;
    write(
        &dir,
        ".gitignore",
        "*.wasm\ntarget/\nnode_modules/\n__pycache__/\nkv-data/\n",
        false,
    )?;
    // With kv, the next call sees what this one kept.
    let grants = if kv {
        format!(" --grant-kv --kv-dir {}/kv-data", dir.display())
    } else {
        String::new()
    };
    say!(
        "created {} ({}, wit/, test-input.json)\n\nnext:\n  {}/build.sh\n  host invoke {}/{file}.wasm --input-file {}/test-input.json{grants}",
        dir.display(),
        written.join(", "),
        dir.display(),
        dir.display(),
        dir.display()
    );
    Ok(Exit::Success)
}

fn write(dir: &Path, path: &str, text: &str, executable: bool) -> Result<(), Failure> {
    let full = dir.join(path);
    let fail = |e: std::io::Error| Failure::Usage(format!("cannot write {}: {e}", full.display()));
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    std::fs::write(&full, text).map_err(fail)?;
    #[cfg(unix)]
    if executable {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&full, std::fs::Permissions::from_mode(0o755)).map_err(fail)?;
    }
    #[cfg(not(unix))]
    let _ = executable;
    Ok(())
}
