//! The held-out-style config generator (issue 13): official-shape YAML (`kind`/`metadata`/`spec`
//! documents, camelCase), one file per Space, about 320 bytes per resource. Per 500 resources:
//! 1 Space, 200 Templates (image, env vars, a task, limits, labels), 1 Workspace and 298 Users
//! (half HUMAN with an email and names, half WORKLOAD with a label). It stays inside the servers'
//! caps at 50,000 resources: 100 Spaces (150 per user), 100 Workspaces (128 active per user),
//! 200 Templates per Space (1,000).
//!
//! `warnings` adds `status: {}` to every Template: one `status-ignored` warning each.

use std::fmt::Write as _;
use std::path::Path;

/// Resources per Space file.
pub const PER_SPACE: usize = 500;
pub const TEMPLATES_PER_SPACE: usize = 200;
pub const WORKSPACES_PER_SPACE: usize = 1;

/// The Space of file `s`.
pub fn space_name(s: usize) -> String {
    format!("space-{s}")
}

/// Writes `n` resources (rounded up to whole Spaces) under `root`, with a `cordium.yaml` naming
/// the stack `stack`; returns the config's size on disk in bytes.
pub fn generate(root: &Path, stack: &str, n: usize, warnings: bool) -> u64 {
    let stack_file = format!("stack:\n  name: {stack}\n");
    std::fs::write(root.join("cordium.yaml"), &stack_file).expect("write the stack file");
    let mut bytes = stack_file.len() as u64;
    for s in 0..n.div_ceil(PER_SPACE) {
        let text = space_file(s, warnings);
        bytes += text.len() as u64;
        std::fs::write(root.join(format!("{}.yaml", space_name(s))), text).expect("write");
    }
    bytes
}

/// One Space's file: its Space, Templates, Workspaces and Users.
pub fn space_file(s: usize, warnings: bool) -> String {
    let sp = space_name(s);
    let status = if warnings { "status: {}\n" } else { "" };
    let mut t = String::with_capacity(PER_SPACE * 360);
    let _ = write!(
        t,
        "kind: Space\nmetadata:\n  name: {sp}\n  displayName: Space number {s}\n  description: A space for team {} and its agents\n  labels:\n    team: team-{}\n    cost-center: cc-{}\nspec: {{}}\n",
        s % 17,
        s % 17,
        s % 5
    );
    for i in 0..TEMPLATES_PER_SPACE {
        let _ = write!(
            t,
            "---\nkind: Template\nmetadata:\n  name: tpl-{i}.{sp}\n  displayName: Template {i}\n  description: Python {m} development image with common tools installed\n  labels:\n    lang: python\n    tier: t{tier}\nspec:\n  image:\n    registry:\n      url: ghcr.io/example/python:3.{m}-bookworm\n  runtime:\n    envVars:\n      - key: PIP_INDEX_URL\n        value: https://pypi.example.com/simple\n      - key: APP_MODE\n        value: dev\n    tasks:\n      - name: install\n        type: ON_CREATE\n        run: pip install -r requirements.txt\n  limit:\n    cpu:\n      millicores: {cpu}\n    memory:\n      megabytes: {mem}\n{status}",
            m = i % 13,
            tier = i % 3,
            cpu = 1000 + (i % 4) * 500,
            mem = 2048 * (1 + i % 3),
        );
    }
    for w in 0..WORKSPACES_PER_SPACE {
        let _ =
            write!(t, "---\nkind: Workspace\nmetadata:\n  name: ws-{w}.{sp}\ntemplate: tpl-{w}\n");
    }
    for u in 0..PER_SPACE - TEMPLATES_PER_SPACE - WORKSPACES_PER_SPACE - 1 {
        if u % 2 == 1 {
            let _ = write!(
                t,
                "---\nkind: User\nmetadata:\n  name: user-{s}-{u}\n  displayName: User {s}-{u}\nspec:\n  type: HUMAN\n  email: user-{s}-{u}@example.com\n  info:\n    firstName: First{u}\n    lastName: Last{s}\n"
            );
        } else {
            let _ = write!(
                t,
                "---\nkind: User\nmetadata:\n  name: agent-{s}-{u}\n  displayName: Agent {s}-{u}\n  labels:\n    role: agent\nspec:\n  type: WORKLOAD\n"
            );
        }
    }
    t
}
