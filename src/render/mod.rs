//! Turning diagnostics, plans and apply events into human text, JSON and Markdown.
//! Changes nothing; with `cli`, the only place that prints.

pub mod diagnostics;
