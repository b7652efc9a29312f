//! `cordium login` and `cordium logout`: open (or reuse) and end the cached session of a
//! remote cluster, for people. Scripts need neither: every command reuses the cached session,
//! and `--logout` / `CORDIUM_LOGOUT=true` ends it after the command.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use super::exit::Exit;
use super::output;
use super::target::{read_env, TargetArgs};
use crate::ops::Request;

/// Sign in: exchange OCTELIUM_AUTH_TOKEN for a session (or reuse the cached one) and say who
/// you are and until when.
///
/// The session is cached under `$XDG_CACHE_HOME/cordium` (or `~/.cache/cordium`, or
/// `CORDIUM_CACHE_DIR`), 0600, keyed by the endpoint and the token; plan and apply reuse it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A config directory whose stack file may choose the cluster (with --env).
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// The stack file environment that chooses the cluster.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    #[command(flatten)]
    pub cluster: TargetArgs,
}

impl Args {
    fn request(&self) -> Request {
        let mut req = Request::new(self.dir.clone());
        req.load.env = self.env.clone();
        req.target = self.cluster.flags();
        req.env = read_env();
        self.cluster.apply_auth(&mut req.env.auth);
        req
    }
}

/// A Unix time as `2026-12-02 09:36:01 UTC`.
fn utc(secs: u64) -> String {
    let t = UNIX_EPOCH + Duration::from_secs(secs);
    let s = humantime::format_rfc3339_seconds(t).to_string();
    format!("{} UTC", s.trim_end_matches('Z').replace('T', " "))
}

pub fn run_login(args: Args) -> Exit {
    let req = args.request();
    match super::block_on(crate::ops::session::login(&req)) {
        Ok(info) => {
            let kind = if info.user_type.is_empty() {
                String::new()
            } else {
                format!(" ({} user)", info.user_type)
            };
            let how = if info.reused { "reusing the cached session" } else { "new session" };
            output::print_stdout(&format!(
                "Logged in to {} as {}{kind}, {how}, valid until {}.\n",
                info.target,
                info.username,
                utc(info.renewable_until)
            ));
            Exit::Ok
        }
        Err(e) => output::failure(e, false),
    }
}

pub fn run_logout(args: Args) -> Exit {
    let req = args.request();
    match super::block_on(crate::ops::session::logout(&req)) {
        Ok(true) => {
            output::print_stdout("Logged out: the session was ended and removed from the cache.\n");
            Exit::Ok
        }
        Ok(false) => {
            output::print_stdout("No session to end.\n");
            Exit::Ok
        }
        Err(e) => output::failure(e, false),
    }
}

/// After a command: ends its session when `--logout` or `CORDIUM_LOGOUT=true` asked for it. A
/// failure to do so is a warning; the command's own result stands.
pub fn logout_after(req: &Request) {
    if !req.env.auth.logout {
        return;
    }
    if let Err(e) = super::block_on(crate::ops::session::end_after(req)) {
        output::print_stderr(&format!(
            "Warning: could not end the session: {}\n",
            crate::ops::error::chain(&e)
        ));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_as_utc() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00 UTC");
    }
}
