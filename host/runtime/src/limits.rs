//! Per-call limits and the resource limiter that enforces the memory and table ones.

use std::time::Duration;

use wasmtime::ResourceLimiter;

/// The limits of one plugin call. Defaults suit a tool that transforms a few
/// megabytes of JSON; a workflow or `host invoke` may raise or lower each one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time for one call, from instantiation to the returned output,
    /// including time spent waiting on the host. Enforced by the shared epoch ticker
    /// (guest code) and a timer (host calls). Default: 5 s.
    pub timeout: Duration,
    /// Total linear memory of all the plugin's memories. Default: 128 MiB.
    pub memory: u64,
    /// Elements across all the plugin's tables. Default: 100,000.
    pub table_elements: usize,
    /// Size of the JSON input handed to the plugin. Default: 8 MiB.
    pub max_input: usize,
    /// Size of the JSON output accepted from the plugin. Default: 8 MiB.
    pub max_output: usize,
    /// Fuel for the call (one unit is roughly one WebAssembly instruction); `None`
    /// means unbounded. Only honoured by a runtime built with `fuel: true`.
    pub fuel: Option<u64>,
    /// Resource handles (streams, pollables, HTTP requests...) held at once, in the
    /// host's table and in the component's own tables alike. Default: 10,000.
    pub handles: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(5),
            memory: 128 * 1024 * 1024,
            table_elements: 100_000,
            max_input: 8 * 1024 * 1024,
            max_output: 8 * 1024 * 1024,
            fuel: None,
            handles: 10_000,
        }
    }
}

/// Which limit a plugin ran into, recorded the moment it happened so the error that
/// follows (often a guest allocator aborting) can be reported as the limit it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LimitHit {
    Memory {
        requested: u64,
    },
    /// `limit` is the call's limit, or a table's own maximum when that is lower
    /// (the pooling allocator caps every table).
    Table {
        requested: usize,
        limit: usize,
    },
}

/// Counts memory and table growth across all of a plugin's memories and tables and
/// refuses growth past the call's limits. A refused `memory.grow` returns -1 to the
/// guest, as WebAssembly specifies; most guests then abort, and the host reports the
/// abort as the memory limit rather than as an unexplained trap.
#[derive(Debug)]
pub(crate) struct Limiter {
    memory_limit: u64,
    table_limit: usize,
    memory_used: u64,
    table_used: usize,
    pub(crate) hit: Option<LimitHit>,
}

/// Instances, memories and tables one plugin may create. Components built by
/// componentize-py hold about ten core instances; these leave headroom without
/// letting a plugin exhaust the pool that other calls share.
pub(crate) const MAX_INSTANCES: usize = 64;
pub(crate) const MAX_MEMORIES: usize = 16;
pub(crate) const MAX_TABLES: usize = 32;

impl Limiter {
    pub(crate) fn new(limits: &Limits) -> Limiter {
        Limiter {
            memory_limit: limits.memory,
            table_limit: limits.table_elements,
            memory_used: 0,
            table_used: 0,
            hit: None,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = (desired - current) as u64;
        let total = self.memory_used.saturating_add(growth);
        if total > self.memory_limit {
            self.hit = Some(LimitHit::Memory { requested: total });
            return Ok(false);
        }
        self.memory_used = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.table_used.saturating_add(desired - current);
        if total > self.table_limit {
            self.hit = Some(LimitHit::Table {
                requested: total,
                limit: self.table_limit,
            });
            return Ok(false);
        }
        if let Some(maximum) = maximum
            && desired > maximum
        {
            self.hit = Some(LimitHit::Table {
                requested: desired,
                limit: maximum,
            });
            return Ok(false);
        }
        self.table_used = total;
        Ok(true)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_is_counted_across_all_memories_of_a_plugin() {
        let mut limiter = Limiter::new(&Limits {
            memory: 100,
            ..Limits::default()
        });
        assert!(limiter.memory_growing(0, 60, None).unwrap());
        // A second memory: its 50 bytes bring the plugin to 110, past the limit.
        assert!(!limiter.memory_growing(0, 50, None).unwrap());
        assert_eq!(limiter.hit, Some(LimitHit::Memory { requested: 110 }));
        assert!(limiter.memory_growing(0, 40, None).unwrap());
    }

    #[test]
    fn table_growth_past_the_limit_is_refused_and_recorded() {
        let mut limiter = Limiter::new(&Limits {
            table_elements: 10,
            ..Limits::default()
        });
        assert!(limiter.table_growing(0, 10, None).unwrap());
        assert!(!limiter.table_growing(10, 11, None).unwrap());
        assert_eq!(
            limiter.hit,
            Some(LimitHit::Table {
                requested: 11,
                limit: 10
            })
        );
        // A table's own maximum (the pool's slot size) is reported as the limit.
        let mut limiter = Limiter::new(&Limits::default());
        assert!(!limiter.table_growing(0, 30_000, Some(20_000)).unwrap());
        assert_eq!(
            limiter.hit,
            Some(LimitHit::Table {
                requested: 30_000,
                limit: 20_000
            })
        );
    }
}
