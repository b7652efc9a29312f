//! The review page (`plan --output html`, `promote --html FILE`): one self-contained HTML file
//! (inline CSS and SVG, no script, no network, no external asset) formatted from the
//! [`PlanDoc`], so it shows exactly what the JSON plan holds, with the same masking: the
//! summary, the dependency graph laid out here (columns by dependency depth, changed nodes
//! coloured by action), and one collapsible `<details>` per resource with its field changes.
//! Anything else a command wants to say per resource (promote's verdicts) comes in as
//! [`Note`]s.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde_json::Value;

use super::plan_doc::{ChangeDoc, PlanDoc};
use crate::plan::{Action, BuildAction};

/// Something a command adds to one resource (a badge and a sentence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// A short word shown as a badge, also its CSS class (`tested`, `untested`).
    pub badge: String,
    pub text: String,
}

/// What a page shows besides the plan.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// The page's heading (default: `cordium plan: stack S`).
    pub title: Option<String>,
    /// Paragraphs after the summary (plain text, escaped).
    pub preface: Vec<String>,
    /// Per address.
    pub notes: BTreeMap<String, Vec<Note>>,
}

/// The page's start, up to and including `<body>`: the title, the inline CSS, and a
/// Content-Security-Policy that lets the page load nothing (`drift --html` uses it too).
pub fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        escape(title)
    )
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;\
color:#1f2328;padding:0 1em}h1{font-size:1.5em}table{border-collapse:collapse;margin:1em 0}\
td,th{border:1px solid #d0d7de;padding:.3em .7em;text-align:left}code,pre{font:12px/1.4 \
ui-monospace,monospace}details{border:1px solid #d0d7de;border-radius:6px;margin:.4em 0;\
padding:.3em .8em}summary{cursor:pointer}.create{color:#1a7f37}.update{color:#9a6700}\
.replace,.delete{color:#cf222e}.no-op{color:#656d76}.badge{border-radius:1em;padding:0 .6em;\
font-size:.85em;border:1px solid currentColor;margin-left:.5em}.tested{color:#1a7f37}\
.untested{color:#cf222e}.unchanged{color:#656d76}pre.old{background:#ffebe9}pre.new{\
background:#dafbe1}pre{margin:.2em 0;padding:.3em;white-space:pre-wrap}svg{border:1px solid \
#d0d7de;border-radius:6px;max-width:100%;height:auto}";

/// The page for `doc`; `edges`: each address with the addresses it depends on.
pub fn page(doc: &PlanDoc, edges: &BTreeMap<String, Vec<String>>, extras: &Extras) -> String {
    let mut out = String::new();
    let title =
        extras.title.clone().unwrap_or_else(|| format!("cordium plan: stack {}", doc.stack));
    out.push_str(&head(&title));
    let _ = writeln!(out, "<h1>{}</h1>", escape(&title));
    let _ = writeln!(
        out,
        "<p id=\"target\">Target: <code>{}</code> as <code>{}</code>, environment <code>{}</code> \
         · cordium {}</p>",
        escape(&doc.target.display),
        escape(&doc.target.username),
        escape(doc.environment.as_deref().unwrap_or("none")),
        escape(&doc.tool_version)
    );
    let s = &doc.summary;
    if s.has_changes {
        let _ = writeln!(
            out,
            "<p id=\"summary\"><strong>Plan: {}.</strong></p>",
            escape(&doc.summary_sentence())
        );
    } else {
        let _ = writeln!(
            out,
            "<p id=\"summary\"><strong>No changes.</strong> The cluster matches the configuration \
             ({} resources checked).</p>",
            s.no_op
        );
    }
    out.push_str(
        "<table id=\"counts\"><tr><th>create</th><th>update</th><th>replace</th><th>destroy</th>\
         <th>no-op</th><th>builds</th></tr>",
    );
    let _ = writeln!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
        s.create, s.update, s.replace, s.delete, s.no_op, s.build
    );
    for p in &extras.preface {
        let _ = writeln!(out, "<p>{}</p>", escape(p));
    }
    // What the other views say beside the changes: warnings, notes, snapshot readiness.
    if !doc.warnings.is_empty() {
        out.push_str("<h2>Warnings</h2>\n<ul id=\"warnings\">\n");
        for w in &doc.warnings {
            let at = match (&w.file, w.line, w.column) {
                (Some(f), Some(l), Some(c)) => format!(" <code>{}:{l}:{c}</code>", escape(f)),
                (Some(f), _, _) => format!(" <code>{}</code>", escape(f)),
                _ => String::new(),
            };
            let help = w.help.as_deref().map(|h| format!(" ({})", escape(h))).unwrap_or_default();
            let _ = writeln!(
                out,
                "<li><strong>{}</strong>{at}: {}{help}</li>",
                escape(&w.code),
                escape(&w.message)
            );
        }
        out.push_str("</ul>\n");
    }
    if !doc.notes.is_empty() {
        out.push_str("<ul id=\"notes\">\n");
        for n in &doc.notes {
            let _ = writeln!(out, "<li>Note: {}</li>", escape(n));
        }
        out.push_str("</ul>\n");
    }
    if let Some(snap) = &doc.snapshots {
        let _ = writeln!(out, "<p id=\"snapshots\">{}</p>", escape(&snap.headline()));
        if !snap.templates.is_empty() {
            out.push_str("<ul>\n");
            for t in &snap.templates {
                let _ =
                    writeln!(out, "<li>{}</li>", escape(&super::plan_doc::SnapshotsDoc::line(t)));
            }
            out.push_str("</ul>\n");
        }
    }
    out.push_str("<h2>Dependency graph</h2>\n");
    out.push_str(&svg(doc, edges));
    out.push_str("<h2>Resources</h2>\n");
    for c in &doc.resource_changes {
        resource(c, doc, extras.notes.get(&c.address), &mut out);
    }
    if !doc.excluded.is_empty() {
        let list: Vec<String> =
            doc.excluded.iter().map(|a| format!("<code>{}</code>", escape(a))).collect();
        let _ = writeln!(out, "<p>Left out (--target/--exclude): {}</p>", list.join(", "));
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn action_word(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "delete",
        Action::NoOp => "no-op",
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

fn resource(c: &ChangeDoc, doc: &PlanDoc, notes: Option<&Vec<Note>>, out: &mut String) {
    let word = action_word(c.action);
    let open = if c.action.is_change() { " open" } else { "" };
    let _ = write!(
        out,
        "<details class=\"resource\" id=\"r-{}\"{open}><summary><span class=\"{word}\">{word}</span> \
         <code>{}</code>",
        escape(&c.address),
        escape(&c.address)
    );
    for n in notes.into_iter().flatten() {
        let _ =
            write!(out, "<span class=\"badge {}\">{}</span>", escape(&n.badge), escape(&n.badge));
    }
    out.push_str("</summary>\n");
    if !c.reason.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", escape(&c.reason));
    }
    if let Some(name) = &c.live_name {
        let _ = writeln!(out, "<p>Live name: <code>{}</code></p>", escape(name));
    }
    if !c.forced_by.is_empty() {
        let _ = writeln!(out, "<p>Replaced because of: {}</p>", escape(&c.forced_by.join(", ")));
    }
    for n in notes.into_iter().flatten() {
        let _ = writeln!(out, "<p class=\"{}\">{}</p>", escape(&n.badge), escape(&n.text));
    }
    if !c.fields.is_empty() {
        out.push_str("<table class=\"fields\"><tr><th>field</th><th>old</th><th>new</th></tr>\n");
        for f in &c.fields {
            let cell = |v: &Option<Value>, class: &str| match v {
                Some(v) => format!("<pre class=\"{class}\">{}</pre>", escape(&value_text(v))),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
                escape(f.shown_path()),
                if f.sensitive { " <em>(sensitive)</em>" } else { "" },
                cell(&f.old, "old"),
                cell(&f.new, "new")
            );
        }
        out.push_str("</table>\n");
    }
    for b in doc.builds.iter().filter(|b| b.template == c.address) {
        let what = match b.action {
            BuildAction::Build => "snapshot build",
            BuildAction::Wait => "wait for the running build",
            BuildAction::UpToDate => "snapshot up to date",
        };
        let _ = writeln!(
            out,
            "<p>{what}: tag <code>{}</code>{}</p>",
            escape(&b.tag),
            b.reason.as_deref().map(|r| format!(" ({})", escape(r))).unwrap_or_default()
        );
    }
    if let Some(k) = &c.cascade {
        let mut items: Vec<String> =
            k.objects.iter().map(|o| format!("{} {}", o.kind, o.name)).collect();
        items.extend(k.unlisted.iter().cloned());
        let _ = writeln!(
            out,
            "<p class=\"delete\">The server also deletes: {}</p>",
            escape(&items.join("; "))
        );
    }
    out.push_str("</details>\n");
}

/// The graph a page draws: the model's dependency edges (when there is a model: a fresh plan),
/// and the edges between the plan's own steps (a saved plan has only these).
pub fn edges_of(
    plan: &crate::plan::Plan,
    model: Option<&crate::model::Model>,
) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if let Some(m) = model {
        for (n, deps) in crate::model::graph::edges(m) {
            out.entry(n.to_string()).or_default().extend(deps.iter().map(ToString::to_string));
        }
    }
    for s in &plan.steps {
        for d in &s.depends_on {
            if let Some(dep) = plan.steps.get(*d) {
                if dep.address != s.address {
                    out.entry(s.address.to_string()).or_default().insert(dep.address.to_string());
                }
            }
        }
    }
    out.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect()
}

/// Node geometry.
const NODE_W: usize = 230;
const NODE_H: usize = 30;
const COL_GAP: usize = 70;
const ROW_GAP: usize = 16;
const PAD: usize = 12;

/// The dependency graph as inline SVG: a node per resource of the plan, in columns by depth
/// (what depends on nothing on the left), an arrow from each node to what it needs.
pub fn svg(doc: &PlanDoc, edges: &BTreeMap<String, Vec<String>>) -> String {
    let actions: BTreeMap<&str, Action> =
        doc.resource_changes.iter().map(|c| (c.address.as_str(), c.action)).collect();
    let mut nodes: BTreeSet<&str> = actions.keys().copied().collect();
    for (n, deps) in edges {
        if actions.contains_key(n.as_str()) {
            nodes.extend(deps.iter().map(String::as_str).filter(|d| actions.contains_key(d)));
        }
    }
    // Depth: the longest chain of dependencies below a node (cycles cannot occur in a valid
    // config; a visit guard keeps a bad input from recursing forever).
    fn depth<'a>(
        n: &'a str,
        edges: &'a BTreeMap<String, Vec<String>>,
        nodes: &BTreeSet<&str>,
        memo: &mut BTreeMap<&'a str, usize>,
        visiting: &mut BTreeSet<&'a str>,
    ) -> usize {
        if let Some(d) = memo.get(n) {
            return *d;
        }
        if !visiting.insert(n) {
            return 0;
        }
        let d = edges
            .get(n)
            .into_iter()
            .flatten()
            .filter(|d| nodes.contains(d.as_str()))
            .map(|d| depth(d, edges, nodes, memo, visiting) + 1)
            .max()
            .unwrap_or(0);
        visiting.remove(n);
        memo.insert(n, d);
        d
    }
    let mut memo = BTreeMap::new();
    let mut columns: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for n in &nodes {
        let d = depth(n, edges, &nodes, &mut memo, &mut BTreeSet::new());
        columns.entry(d).or_default().push(n);
    }
    let mut at: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (col, list) in &columns {
        for (row, n) in list.iter().enumerate() {
            at.insert(n, (PAD + col * (NODE_W + COL_GAP), PAD + row * (NODE_H + ROW_GAP)));
        }
    }
    let cols = columns.len().max(1);
    let rows = columns.values().map(Vec::len).max().unwrap_or(1).max(1);
    let width = 2 * PAD + cols * NODE_W + (cols - 1) * COL_GAP;
    let height = 2 * PAD + rows * NODE_H + (rows - 1) * ROW_GAP + 3 * ROW_GAP;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg id=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"dependency graph\">"
    );
    out.push_str(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" \
         fill=\"#8c959f\"/></marker></defs>\n",
    );
    for (n, deps) in edges {
        let Some(&(x1, y1)) = at.get(n.as_str()) else { continue };
        for d in deps {
            let Some(&(x2, y2)) = at.get(d.as_str()) else { continue };
            // From the left edge of a node to the right edge of what it needs; an edge that
            // skips columns bends below the nodes between.
            let (sx, sy, ex, ey) = (x1, y1 + NODE_H / 2, x2 + NODE_W, y2 + NODE_H / 2);
            let span = x1.saturating_sub(x2) / (NODE_W + COL_GAP);
            let bend = if span > 1 { NODE_H / 2 + ROW_GAP / 2 + 6 * span } else { 0 };
            let _ = writeln!(
                out,
                "<path class=\"edge\" d=\"M{sx},{sy} C{},{} {},{} {ex},{ey}\" fill=\"none\" \
                 stroke=\"#8c959f\" stroke-width=\"1.2\" marker-end=\"url(#arrow)\"><title>{} \
                 needs {}</title></path>",
                sx.saturating_sub(COL_GAP / 2),
                sy + bend,
                ex + COL_GAP / 2,
                ey + bend,
                escape(n),
                escape(d)
            );
        }
    }
    for (n, (x, y)) in &at {
        let action = actions.get(n).copied().unwrap_or(Action::NoOp);
        let (fill, stroke) = match action {
            Action::Create => ("#dafbe1", "#1a7f37"),
            Action::Update => ("#fff8c5", "#9a6700"),
            Action::Replace | Action::Delete => ("#ffebe9", "#cf222e"),
            Action::NoOp => ("#f6f8fa", "#8c959f"),
        };
        let changed = action.is_change();
        let label: String = if n.chars().count() > 32 {
            format!("{}…", n.chars().take(31).collect::<String>())
        } else {
            n.to_string()
        };
        let _ = writeln!(
            out,
            "<g class=\"node{}\" data-address=\"{}\" data-action=\"{}\"><rect x=\"{x}\" y=\"{y}\" \
             width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"5\" fill=\"{fill}\" stroke=\"{stroke}\" \
             stroke-width=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"12\" \
             font-family=\"ui-monospace,monospace\" fill=\"#1f2328\">{}</text><title>{} ({})</title></g>",
            if changed { " changed" } else { "" },
            escape(n),
            action_word(action),
            if changed { 2.5 } else { 1.0 },
            x + 8,
            y + NODE_H / 2 + 4,
            escape(&label),
            escape(n),
            action_word(action)
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
