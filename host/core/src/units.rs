//! Sizes and durations as people read them, in every message Baton writes.

use std::time::Duration;

/// `64 MiB`, `1.5 KiB`: binary units, as limits are set.
pub fn bytes(bytes: u64) -> String {
    bytesize::ByteSize::b(bytes).display().iec().to_string()
}

/// `2s`, `250ms`, `1m 30s`.
pub fn duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_as_written_in_a_workflow() {
        assert_eq!(bytes(64 << 20), "64.0 MiB");
        assert_eq!(duration(Duration::from_millis(1500)), "1s 500ms");
    }
}
