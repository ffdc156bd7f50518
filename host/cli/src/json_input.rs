//! JSON a user hands a command (a run's input, a plugin's input, an edit at a gate):
//! from a flag, a file, or stdin, checked to be JSON with an error that names where
//! it came from and the line and column.

use std::io::{IsTerminal, Read};
use std::path::Path;

use serde_json::Value;

use crate::exit::Failure;

/// Where the JSON comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// Text given on the command line, named by its flag (e.g. `--input`).
    Flag(&'a str, &'a str),
    /// A file; `-` means stdin.
    File(&'a Path),
    Stdin,
}

/// Reads the text and checks that it is JSON; returns the text as given.
pub fn read_text(source: Source) -> Result<String, Failure> {
    let (text, name) = match source {
        Source::Flag(flag, text) => (text.to_string(), flag.to_string()),
        Source::File(path) if path.as_os_str() != "-" => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
            (text, path.display().to_string())
        }
        Source::File(_) | Source::Stdin => {
            if std::io::stdin().is_terminal() {
                return Err(Failure::Usage(
                    "no input: pass a JSON file, or pipe JSON on stdin".into(),
                ));
            }
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Failure::Usage(format!("cannot read stdin: {e}")))?;
            (text, "stdin".to_string())
        }
    };
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&text) {
        let message = e.to_string();
        let reason = message
            .rsplit_once(" at line ")
            .map(|(head, _)| head)
            .unwrap_or(&message);
        return Err(Failure::Usage(format!(
            "{name} is not valid JSON: line {}, column {}: {reason}",
            e.line(),
            e.column()
        )));
    }
    Ok(text)
}

/// Reads and parses.
pub fn read_value(source: Source) -> Result<Value, Failure> {
    let text = read_text(source)?;
    serde_json::from_str(&text).map_err(|e| Failure::Host(format!("JSON checked twice: {e}")))
}
