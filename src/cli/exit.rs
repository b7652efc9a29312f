//! The one table of exit codes (documented in `docs/exit-codes.md`).

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success; for plan, no changes.
    Ok,
    /// Any error: bad config, cluster unreachable, apply failed.
    Error,
    /// Plan with `--detailed-exitcode`: changes present.
    Changes,
    /// Plan with `--fail-on`: the plan has what a gate refuses (after it is shown).
    Gated,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Error => 1,
            Exit::Changes => 2,
            Exit::Gated => 3,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e.code())
    }
}
