//! What reaches the operator's terminal: tracing set-up and escaping of text that
//! came from a plugin, so a plugin cannot move the cursor, clear the screen or forge
//! lines with control characters.

use std::borrow::Cow;
use std::fmt::Write;

/// `println!` through [`escape_control`]: how every command writes a line to standard
/// output, so that no text from a plugin, a workflow or the store reaches the terminal
/// unescaped, whichever path it took.
macro_rules! say {
    () => { println!() };
    ($($arg:tt)*) => { println!("{}", $crate::terminal::escape_control(&format!($($arg)*))) };
}

/// `print!` through [`escape_control`].
macro_rules! say_part {
    ($($arg:tt)*) => { print!("{}", $crate::terminal::escape_control(&format!($($arg)*))) };
}

/// `eprintln!` through [`escape_control`]: notes, warnings and progress on stderr.
macro_rules! tell {
    ($($arg:tt)*) => { eprintln!("{}", $crate::terminal::escape_control(&format!($($arg)*))) };
}

pub(crate) use {say, say_part, tell};

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
    // Log lines carry plugins' words (a trap's message, say): they go through
    // [`escape_control`] like everything else, so they are written without colours
    // (whose escape codes it would show rather than obey).
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| SafeStderr)
        .with_target(false)
        .with_ansi(false)
        .without_time()
        .init();
}

/// Standard error, through [`escape_control`]: what the log writes.
struct SafeStderr;

impl std::io::Write for SafeStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(escape_control(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Whether `c` changes how a terminal shows text rather than being text: control
/// characters (ESC, CR, BEL, DEL, the C1 controls) but newline and tab, and the
/// bidirectional formatting characters (LRE…RLO, LRI…PDI, LRM, RLM, ALM), which can
/// make `exe.txt` display as `txt.exe`.
pub fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// The one way text from a plugin, a workflow or the store reaches a terminal: every
/// character [`is_unsafe`] names is shown as `\u{1b}`; newlines and tabs, which are
/// layout rather than commands, are kept.
pub fn escape_control(text: &str) -> Cow<'_, str> {
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

/// `value` as JSON (`pretty`, or on one line), for a terminal or a pipe. JSON escapes
/// the C0 controls itself but allows the C1 controls, DEL and the bidirectional
/// formatting characters raw; those are written as `\uXXXX` too, which every JSON
/// reader reads back as the same string.
pub fn json(value: &impl serde::Serialize, pretty: bool) -> String {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    let text = match text {
        Ok(text) => text,
        Err(e) => return serde_json::json!({ "error": e.to_string() }).to_string(),
    };
    if !text.chars().any(|c| is_unsafe(c) && c != '\n') {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        // Outside strings JSON has only ASCII layout; inside them serde has already
        // escaped what JSON requires, so every character left here is in a string.
        if is_unsafe(c) && c != '\n' {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// The width of the terminal on standard output, or 100 columns when it is not one.
pub fn width() -> usize {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal()
        && let Ok((columns, _)) = ratatui::crossterm::terminal::size()
        && columns > 0
    {
        return columns as usize;
    }
    100
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

/// `text` as one word a POSIX shell reads back unchanged, for commands we suggest.
pub fn shell_word(text: &str) -> Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:=@%+-".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!("'{}'", text.replace('\'', r"'\''")))
    }
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
        // Bidirectional overrides and isolates cannot turn text around.
        assert_eq!(
            escape_control("report\u{202e}txt.exe \u{2067}x\u{2069}"),
            "report\\u{202e}txt.exe \\u{2067}x\\u{2069}"
        );
    }

    #[test]
    fn json_for_the_terminal_escapes_what_json_allows_raw_and_reads_back_the_same() {
        let value = serde_json::json!({ "name": "a\u{202e}b\u{85}c\u{7f}", "n": 1 });
        for pretty in [false, true] {
            let text = json(&value, pretty);
            assert!(!text.chars().any(|c| is_unsafe(c) && c != '\n'), "{text}");
            assert!(text.contains("a\\u202eb\\u0085c\\u007f"), "{text}");
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, value);
        }
    }

    #[test]
    fn shorten_cuts_by_characters_at_the_first_line_and_says_so() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("ééééé", 3), "ééé...");
        assert_eq!(shorten("one\ntwo", 10), "one...");
        assert_eq!(shorten("exactly\n", 10), "exactly");
    }
}
