//! What reaches the operator's terminal: tracing set-up and escaping of text that
//! came from a plugin, so a plugin cannot move the cursor, clear the screen or forge
//! lines with control characters.

use std::borrow::Cow;
use std::fmt::Write;

/// Warnings by default (a tampered cache entry, an unwritable cache); `-v` adds what
/// the host is doing. `BATON_LOG` takes a full filter, e.g. `BATON_LOG=baton_runtime=debug`.
pub fn init_tracing(verbose: bool) {
    let default = if verbose {
        "warn,baton_runtime=debug,host=debug"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BATON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .init();
}

/// Escapes control characters (ESC, CR, BEL, DEL, C1 controls, ...) as `\u{1b}`;
/// keeps newlines and tabs, which are layout rather than commands.
pub fn escape_control(text: &str) -> Cow<'_, str> {
    let is_unsafe = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The first line of `text`, cut to at most `max` characters; `...` says it was cut.
/// Does not escape: callers show it through [`escape_control`].
pub fn shorten(text: &str, max: usize) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut out: String = first.chars().take(max).collect();
    if out.len() < text.trim_end().len() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_from_plugins_are_shown_not_obeyed() {
        assert_eq!(
            escape_control("a\x1b[2Jb\rc\u{9b}"),
            "a\\u{1b}[2Jb\\u{d}c\\u{9b}"
        );
        assert_eq!(
            escape_control("line one\n\tline two"),
            "line one\n\tline two"
        );
    }

    #[test]
    fn shorten_cuts_by_characters_at_the_first_line_and_says_so() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("ééééé", 3), "ééé...");
        assert_eq!(shorten("one\ntwo", 10), "one...");
        assert_eq!(shorten("exactly\n", 10), "exactly");
    }
}
