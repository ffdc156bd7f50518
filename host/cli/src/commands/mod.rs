//! One module per command. What they share with `host serve` (opening the service,
//! the operator, the service's errors in the command line's words) is in `access`.

pub mod audit;
pub mod bench;
pub mod decide;
pub mod expire;
pub mod focus;
pub mod inspect;
pub mod invoke;
pub mod new;
pub mod resume;
pub mod run;
pub mod runs;
pub mod stats;
