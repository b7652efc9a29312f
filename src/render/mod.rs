//! Turning diagnostics, plans and apply events into human text, JSON and Markdown.
//! Changes nothing; with `cli`, the only place that prints.

pub mod diagnostics;
pub mod dot;
pub mod drift;
pub mod events;
pub mod github;
pub mod html;
pub mod human;
pub mod markdown;
pub mod plan_doc;
pub mod promote;
pub mod reference;
pub mod status;
pub mod style;

pub use plan_doc::PlanDoc;
pub use style::Style;

#[cfg(test)]
mod tests;
