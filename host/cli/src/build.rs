//! `host run --build`: rebuild the plugins whose sources are newer than their component,
//! with the `build` command their declaration names.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::SystemTime;

use baton_workflow::{Build, PluginDecl, Workflow};

use crate::exit::Failure;
use crate::terminal::tell;

/// Why `decl` must be built, or `None` when its component is newer than every watched
/// file.
pub fn stale(decl: &PluginDecl, build: &Build) -> Result<Option<String>, Failure> {
    if build.watch.is_empty() {
        return Ok(Some("no `watch` globs, so the build tool decides".into()));
    }
    let Some(built) = modified(&decl.source) else {
        return Ok(Some(format!(
            "{} does not exist yet",
            decl.source.display()
        )));
    };
    let mut matched = false;
    for pattern in &build.watch {
        let full = build.dir.join(pattern);
        let entries = glob::glob(&full.to_string_lossy()).map_err(|e| {
            Failure::Usage(format!(
                "plugins.{}.build.watch {pattern:?}: {e}",
                decl.name
            ))
        })?;
        for path in entries.flatten() {
            matched = true;
            if modified(&path).is_some_and(|changed| changed > built) {
                return Ok(Some(format!("{} changed", path.display())));
            }
        }
    }
    if !matched {
        return Err(Failure::Usage(format!(
            "plugins.{}.build.watch matches no file under {}; the globs are relative to `dir`",
            decl.name,
            build.dir.display()
        )));
    }
    Ok(None)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Runs the `build` of every plugin of `workflow` that is stale, one at a time, with
/// the build's output on standard error. Stops at the first build that fails.
pub fn build_stale(workflow: &Workflow) -> Result<(), Failure> {
    for decl in workflow.plugins.values() {
        let Some(build) = &decl.build else { continue };
        let Some(why) = stale(decl, build)? else {
            tell!("  .. plugin {} is up to date", decl.name);
            continue;
        };
        tell!(
            "  .. building plugin {} ({why}): {} (in {})",
            decl.name,
            build.command,
            build.dir.display()
        );
        run(&build.command, &build.dir).map_err(|e| {
            Failure::Usage(format!(
                "building plugin {} failed: {e}\n  the command is `build` in {}",
                decl.name, decl.source_position
            ))
        })?;
        if !decl.source.exists() {
            return Err(Failure::Usage(format!(
                "building plugin {} succeeded but made no {}; check its `source` ({}) against where the build writes",
                decl.name,
                decl.source.display(),
                decl.source_position
            )));
        }
    }
    Ok(())
}

fn run(command: &str, dir: &Path) -> Result<(), String> {
    let mut shell = if cfg!(windows) {
        let mut c = Command::new("cmd");
        c.arg("/C");
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c");
        c
    };
    let status = shell
        .arg(command)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| format!("cannot start `{command}` in {}: {e}", dir.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{command}` exited with {status}"))
    }
}
