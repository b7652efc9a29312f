//! Apply: walking a plan's graph against a `Cluster` under bounded concurrency, with retries and
//! build waits; partial-failure bookkeeping. Never prints: it emits events to an observer the
//! view supplies. Never decides new changes: it carries out the plan.

pub mod walk;
