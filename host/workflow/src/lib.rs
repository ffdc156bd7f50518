//! `workflow.toml`: what a workflow declares, checked before anything runs.
//!
//! Parse first, resolve later: [`Workflow::parse`] turns the text into typed
//! declarations and checks everything that needs no I/O (unknown keys, step ids,
//! references between steps, cycles, template and expression syntax, durations and
//! sizes), reporting every problem with its file, line and column. Loading the
//! plugins it names is the caller's job (the CLI does it before a run starts).
//!
//! Templates and conditions use minijinja (Jinja2 syntax): `"{{ input }}"`,
//! `"{{ steps.score.output.top }}"`, `when = "steps.score.output.top is not none"`.
//! A string that is exactly one `{{ expression }}` keeps the expression's JSON type;
//! any other string renders as text. The references in templates decide the order of
//! steps: a step runs once every step it mentions has finished.
//!
//! Layout: `manifest` (serde types, spans), `check` (from manifest to [`Workflow`]),
//! `template` (rendering and references), `position` (byte offsets to line and
//! column), `units` (durations and sizes).

mod check;
mod manifest;
mod position;
mod template;
pub mod units;

pub use check::{
    Build, FileGrant, Gate, Grants, KvGrant, Limits, PluginDecl, Step, StepKind, ToolHints,
    Workflow,
};
pub use position::{Problem, Problems};
pub use template::{Context, Expr, Template, TemplateError};
