//! The service's clock: the system clock, or `BATON_NOW` when it is set.

use baton_core::{Clock, SystemClock};

use crate::error::{Result, ServiceError};

/// The system clock, shifted when `BATON_NOW` is set: an RFC 3339 time
/// (`2026-11-24T09:00:00Z`) or an offset from now (`+49h`). The override is for tests
/// and for seeing what a later timeout sweep will do.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostClock {
    offset_ms: i64,
}

impl HostClock {
    /// The clock `BATON_NOW` asks for (the system clock when it is not set).
    pub fn from_env() -> Result<HostClock> {
        match std::env::var("BATON_NOW") {
            Ok(spec) => HostClock::shifted(&spec),
            Err(_) => Ok(HostClock::default()),
        }
    }

    /// The clock at `spec`: an RFC 3339 time or `+` and an offset from now.
    pub fn shifted(spec: &str) -> Result<HostClock> {
        let bad = |e: &dyn std::fmt::Display| {
            ServiceError::Invalid(format!(
                "BATON_NOW={spec:?} is neither an RFC 3339 time (2026-11-24T09:00:00Z) nor an offset (+49h): {e}"
            ))
        };
        let now = SystemClock.now() as i64;
        let offset_ms = match spec.strip_prefix('+') {
            Some(offset) => humantime::parse_duration(offset)
                .map_err(|e| bad(&e))?
                .as_millis() as i64,
            None => {
                let at = humantime::parse_rfc3339_weak(spec).map_err(|e| bad(&e))?;
                let millis = at
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_err(|e| bad(&e))?
                    .as_millis() as i64;
                millis - now
            }
        };
        Ok(HostClock { offset_ms })
    }
}

impl Clock for HostClock {
    fn now(&self) -> u64 {
        (SystemClock.now() as i64)
            .saturating_add(self.offset_ms)
            .max(0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_moves_the_clock_and_nonsense_is_refused() {
        let later = HostClock::shifted("+2h").unwrap().now();
        let now = SystemClock.now();
        assert!(later >= now + 2 * 3600 * 1000 - 1000, "{later} vs {now}");
        let fixed = HostClock::shifted("2026-11-24T09:00:00Z").unwrap().now();
        assert!(fixed.abs_diff(1_795_510_800_000) < 1000, "{fixed}");
        let error = HostClock::shifted("tomorrow").unwrap_err().to_string();
        assert!(error.contains("BATON_NOW=\"tomorrow\""), "{error}");
    }
}
