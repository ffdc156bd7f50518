//! `baton:plugin/log`: log lines attached to the call that wrote them, capped so a
//! plugin that logs megabytes per call costs the host no more than the cap.

use serde::Serialize;

use crate::bindings::Level;
use crate::bindings::baton::plugin::log::Host;

/// Lines kept per call.
pub const MAX_LOG_LINES: usize = 1_000;
/// Bytes of log text kept per call.
pub const MAX_LOG_BYTES: usize = 64 * 1024;

/// How important a line is; mirrors the WIT `level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl std::fmt::Display for LogLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        })
    }
}

/// One line a plugin wrote, exactly as written (escape it before showing it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
}

/// The lines of one call, within the caps.
#[derive(Debug, Default)]
pub(crate) struct LogBuffer {
    pub(crate) lines: Vec<LogLine>,
    bytes: usize,
    /// Lines refused or cut because a cap was reached.
    pub(crate) dropped: usize,
}

impl LogBuffer {
    pub(crate) fn push(&mut self, level: LogLevel, mut message: String) {
        let room = MAX_LOG_BYTES - self.bytes;
        if self.lines.len() >= MAX_LOG_LINES || room == 0 {
            self.dropped += 1;
            return;
        }
        if message.len() > room {
            let mut cut = room;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            self.dropped += 1;
        }
        self.bytes += message.len();
        self.lines.push(LogLine { level, message });
    }
}

/// `log`'s context is the call's log buffer alone.
impl Host for LogBuffer {
    fn write(&mut self, level: Level, message: String) {
        let level = match level {
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        self.push(level, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_past_the_line_cap_are_counted_not_kept() {
        let mut logs = LogBuffer::default();
        for i in 0..MAX_LOG_LINES + 5 {
            logs.push(LogLevel::Info, format!("line {i}"));
        }
        assert_eq!(logs.lines.len(), MAX_LOG_LINES);
        assert_eq!(logs.dropped, 5);
    }

    #[test]
    fn a_huge_line_is_cut_at_the_byte_cap_on_a_char_boundary() {
        let mut logs = LogBuffer::default();
        logs.push(LogLevel::Warn, "é".repeat(MAX_LOG_BYTES));
        assert!(logs.lines[0].message.len() <= MAX_LOG_BYTES);
        assert_eq!(logs.dropped, 1);
        logs.push(LogLevel::Warn, "more".into());
        assert_eq!(logs.lines.len(), 1);
        assert_eq!(logs.dropped, 2);
    }
}
