//! Sizes and durations as people write them (`2s`, `250ms`, `64MiB`), used by the
//! workflow file and by command-line flags alike.

use std::time::Duration;

/// `2s`, `1500ms`, `1m 30s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{text:?} is not a duration ({e}); write it like 2s, 500ms or 1m"))?;
    if duration.is_zero() {
        return Err(format!(
            "{text:?} is zero; a limit must be longer than that"
        ));
    }
    Ok(duration)
}

/// `64MiB`, `1 GiB`, `512KiB`, `1048576` (bytes).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let size: bytesize::ByteSize = text
        .trim()
        .parse()
        .map_err(|e| format!("{text:?} is not a size ({e}); write it like 64MiB or 1GiB"))?;
    if size.as_u64() == 0 {
        return Err(format!(
            "{text:?} is zero; a limit must be larger than that"
        ));
    }
    Ok(size.as_u64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_read_the_way_people_write_them() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("1 GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("4096").unwrap(), 4096);
    }

    #[test]
    fn nonsense_and_zero_are_refused_with_an_example() {
        assert!(parse_duration("soon").unwrap_err().contains("like 2s"));
        assert!(parse_duration("0s").unwrap_err().contains("zero"));
        assert!(parse_size("lots").unwrap_err().contains("like 64MiB"));
    }
}
