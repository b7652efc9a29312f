//! `cordium export`: what the caller can see on the cluster, written as a config directory
//! that plans with no changes: one file per kind (HCL or YAML), a stack file, Secrets as
//! declarations whose value comes `from_env` (a placeholder variable: values are never read).
//! Objects no stack manages are left out (and listed), or with `adopt` written with an `import`
//! each; objects another stack manages are left out (and listed). Written over the kind registry: a kind's documents come from its
//! facts (`Kind::ALL`, `api_version`, `in_space`, `sensitive`, `server_named`), so a new kind
//! is exported with no edit here unless it has fields beside `metadata` and `spec`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::settings::{Request, Settings};
use super::OpsError;
use crate::config::Loaded;
use crate::kind::ListScope;
use crate::live::convert::{self, LiveResource};
use crate::live::{record, ErrorCode, Scope};
use crate::model::{Address, Kind, APPLIED_ANNOTATION, STACK_LABEL};

/// The format of the files written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Hcl,
    Yaml,
}

/// What `export` was asked.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// The target and auth (its `dir` is not read).
    pub req: Request,
    /// Only these Spaces (config names) and what is in them; empty: everything visible.
    pub spaces: Vec<String>,
    pub format: ExportFormat,
    pub out: PathBuf,
    /// Write objects no stack manages too, each with an `import` (applying the directory
    /// adopts them). Without it they are left out, so the directory plans with no changes.
    pub adopt: bool,
}

/// What was written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Exported {
    pub stack: String,
    pub files: Vec<PathBuf>,
    /// Objects written, per kind keyword.
    pub counts: BTreeMap<String, usize>,
    /// Objects no stack manages: written with an import, so applying the export adopts them.
    pub imports: Vec<String>,
    /// Objects left out, and why (another stack manages them; Users the caller cannot list).
    pub left_out: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{} exists and is not an empty directory; export writes a new config directory", .0.display())]
    NotEmpty(PathBuf),
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--space {0}: no such Space is visible on the cluster")]
    NoSpace(String),
}

/// One object to write.
struct Item {
    live: LiveResource,
    /// No stack manages it: it is imported.
    import: bool,
}

/// Runs `export`.
pub async fn export(x: &ExportRequest) -> Result<Exported, OpsError> {
    check_out(&x.out)?;
    let settings = Settings::resolve(&x.req, &Loaded::default())?;
    let cluster = super::plan::connect(&settings, &x.req.env.auth).await?;
    let mut seen: Vec<LiveResource> = Vec::new();
    let mut left_out = Vec::new();
    let wanted = |space: &LiveResource| {
        !space.system && (x.spaces.is_empty() || x.spaces.contains(&space.address.name))
    };
    // Cluster-wide kinds: Spaces (filtered), Users (when no Space is asked for, and allowed).
    for kind in Kind::ALL.into_iter().filter(|k| k.list_scope() == ListScope::Cluster) {
        if kind != Kind::Space && !x.spaces.is_empty() {
            continue;
        }
        match cluster.list(kind, &Scope::All).await {
            Ok(items) => seen.extend(items.iter().map(convert::from_wire).filter(|l| !l.system)),
            Err(e) if e.code == ErrorCode::PermissionDenied => {
                left_out
                    .push(format!("every {}: the cluster refused to list them", kind.api_kind()));
            }
            Err(e) => return Err(e.into()),
        }
    }
    seen.retain(|l| l.kind != Kind::Space || wanted(l));
    let spaces: Vec<LiveResource> =
        seen.iter().filter(|l| l.kind == Kind::Space).cloned().collect();
    for asked in &x.spaces {
        if !spaces.iter().any(|s| &s.address.name == asked) {
            return Err(OpsError::Export(ExportError::NoSpace(asked.clone())));
        }
    }
    let stored: BTreeSet<String> = spaces.iter().map(|s| s.wire_name.clone()).collect();
    // The caller's own Membership of each Space (the creator's OWNER one, made by CreateSpace)
    // is the server's, as `live::state` treats it: never exported.
    let me = cluster.identity().await?.username;
    for kind in Kind::ALL.into_iter().filter(|k| k.list_scope() == ListScope::PerSpace) {
        for space in &stored {
            let items = cluster.list(kind, &Scope::Space(space.clone())).await?;
            seen.extend(
                items
                    .iter()
                    .map(convert::from_wire)
                    .filter(|l| !l.system)
                    .filter(|l| !(l.kind == Kind::Membership && l.address.name == me)),
            );
        }
    }
    for kind in Kind::ALL.into_iter().filter(|k| k.list_scope() == ListScope::Caller) {
        let items = cluster.list(kind, &Scope::All).await?;
        for mut l in items.iter().map(convert::from_wire).filter(|l| !l.system) {
            let Some(space) = l.space.clone().filter(|s| stored.contains(s)) else { continue };
            // Its stack, from its Space's ownership record (Workspaces keep no labels).
            let owner = spaces
                .iter()
                .find(|s| s.wire_name == space)
                .and_then(|s| record::recorded_by(&s.metadata.annotations, &l.uid))
                .map(|v| record::parse(v).0.to_string());
            if let Some(owner) = owner {
                l.metadata.labels.insert(STACK_LABEL.to_string(), owner);
            }
            seen.push(l);
        }
    }
    // The stack: --stack, else the one stack that labels what was read, else the default.
    let labels: BTreeSet<&str> = seen.iter().filter_map(|l| l.stack()).collect();
    let stack = match (&x.req.stack, labels.len()) {
        (Some(s), _) => s.clone(),
        (None, 1) => labels.iter().next().map(|s| s.to_string()).unwrap_or_default(),
        (None, _) => {
            x.req.env.stack.clone().unwrap_or_else(|| super::settings::DEFAULT_STACK.into())
        }
    };
    let mut items = Vec::new();
    for l in seen {
        match l.stack() {
            Some(s) if s != stack => {
                left_out
                    .push(format!("{} `{}`: managed by the stack `{s}`", l.address, l.wire_name));
                continue;
            }
            // The Space's own Template (every Space has one) and cordium's apply lock (a
            // Template, or a Group for a stack without Spaces).
            None if (l.kind == Kind::Template && l.address.name == convert::DEFAULT_TEMPLATE)
                || crate::live::state::is_apply_lock(&l) =>
            {
                continue;
            }
            None if !x.adopt => {
                left_out.push(format!(
                    "{} `{}`: managed by no stack (--adopt writes it with an import)",
                    l.address, l.wire_name
                ));
            }
            s => {
                let import = s.is_none();
                items.push(Item { live: l, import });
            }
        }
    }
    items.sort_by(|a, b| {
        (a.live.kind, &a.live.address, &a.live.wire_name).cmp(&(
            b.live.kind,
            &b.live.address,
            &b.live.wire_name,
        ))
    });
    write_all(x, &stack, &items, left_out)
}

fn check_out(out: &Path) -> Result<(), OpsError> {
    let empty = match std::fs::read_dir(out) {
        Ok(entries) => entries.count() == 0,
        Err(_) => !out.exists(),
    };
    if empty {
        Ok(())
    } else {
        Err(OpsError::Export(ExportError::NotEmpty(out.to_path_buf())))
    }
}

fn write_all(
    x: &ExportRequest,
    stack: &str,
    items: &[Item],
    left_out: Vec<String>,
) -> Result<Exported, OpsError> {
    let write = |name: &str, text: &str| -> Result<PathBuf, OpsError> {
        std::fs::create_dir_all(&x.out)
            .map_err(|source| ExportError::Write { path: x.out.clone(), source })?;
        let path = x.out.join(name);
        std::fs::write(&path, text)
            .map_err(|source| ExportError::Write { path: path.clone(), source })?;
        Ok(path)
    };
    let ext = match x.format {
        ExportFormat::Hcl => "hcl",
        ExportFormat::Yaml => "yaml",
    };
    let mut files = vec![write(
        &format!("cordium.{ext}"),
        &match x.format {
            ExportFormat::Hcl => format!("# Exported by cordium export.\nstack \"{stack}\" {{}}\n"),
            ExportFormat::Yaml => {
                format!("# Exported by cordium export.\nstack:\n  name: {stack}\n")
            }
        },
    )?];
    let mut counts = BTreeMap::new();
    for kind in Kind::LISTED {
        let of_kind: Vec<&Item> = items.iter().filter(|i| i.live.kind == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        counts.insert(kind.keyword().to_string(), of_kind.len());
        let text = match x.format {
            ExportFormat::Hcl => {
                of_kind.iter().map(|i| hcl_block(&i.live)).collect::<Vec<_>>().join("\n")
            }
            ExportFormat::Yaml => of_kind
                .iter()
                .map(|i| yaml_doc(&document(&i.live)))
                .collect::<Vec<_>>()
                .join("---\n"),
        };
        files.push(write(&format!("{}s.{ext}", kind.keyword()), &text)?);
    }
    let imports: Vec<&Item> = items.iter().filter(|i| i.import).collect();
    if !imports.is_empty() {
        let text = match x.format {
            ExportFormat::Hcl => imports
                .iter()
                .map(|i| {
                    format!(
                        "import {{\n  to = {}\n  id = {}\n}}\n",
                        i.live.address,
                        hcl_string(&i.live.wire_name)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            ExportFormat::Yaml => imports
                .iter()
                .map(|i| {
                    yaml_doc(&json!({"import": {"to": i.live.address.to_string(), "id": i.live.wire_name}}))
                })
                .collect::<Vec<_>>()
                .join("---\n"),
        };
        files.push(write(&format!("imports.{ext}"), &text)?);
    }
    Ok(Exported {
        stack: stack.to_string(),
        files,
        counts,
        imports: imports.iter().map(|i| i.live.address.to_string()).collect(),
        left_out,
    })
}

/// The environment variable a Secret's exported declaration reads its value from (a
/// placeholder: export never reads a value): `CORDIUM_SECRET_<SPACE>_<NAME>`.
pub fn secret_env(address: &Address) -> String {
    let part = |s: &str| s.to_ascii_uppercase().replace(['-', '.'], "_");
    match &address.space {
        Some(space) => format!("CORDIUM_SECRET_{}_{}", part(space), part(&address.name)),
        None => format!("CORDIUM_SECRET_{}", part(&address.name)),
    }
}

/// The metadata a config sets: as read, less what cordium writes itself.
fn metadata(l: &LiveResource) -> Map<String, Value> {
    let mut m = l.metadata.clone();
    m.labels.remove(STACK_LABEL);
    m.annotations.retain(|k, _| !record::is_record_key(k) && k != APPLIED_ANNOTATION);
    let mut out = Map::new();
    let mut put = |k: &str, v: Value, empty: bool| {
        if !empty {
            out.insert(k.to_string(), v);
        }
    };
    put("displayName", json!(m.display_name), m.display_name.is_empty());
    put("description", json!(m.description), m.description.is_empty());
    put("labels", json!(m.labels), m.labels.is_empty());
    put("annotations", json!(m.annotations), m.annotations.is_empty());
    put("tags", json!(m.tags), m.tags.is_empty());
    put("picURL", json!(m.pic_url), m.pic_url.is_empty());
    out
}

/// The config name of a live object as a document names it: `ml`, `ml.cordium` (an
/// organisation Space), `gpu.ml`, `box.ml`, `alice`.
fn doc_name(l: &LiveResource) -> String {
    match (&l.address.space, l.kind) {
        (_, Kind::Space) if l.organization => {
            format!("{}.{}", l.address.name, convert::ORGANIZATION_OWNER)
        }
        (Some(space), _) => format!("{}.{space}", l.address.name),
        (None, _) => l.address.name.clone(),
    }
}

/// The canonical document of a live object (the YAML form).
fn document(l: &LiveResource) -> Value {
    let kind = l.kind;
    let mut md = if kind.server_named() { Map::new() } else { metadata(l) };
    let mut doc = Map::new();
    doc.insert("apiVersion".into(), json!(kind.api_version()));
    doc.insert("kind".into(), json!(kind.api_kind()));
    let mut name_first = Map::new();
    name_first.insert("name".into(), json!(doc_name(l)));
    name_first.append(&mut md);
    doc.insert("metadata".into(), Value::Object(name_first));
    if kind.sensitive() {
        doc.insert("fromEnv".into(), json!(secret_env(&l.address)));
        return Value::Object(doc);
    }
    if let Some(t) = template_of(l) {
        doc.insert("template".into(), json!(t));
    }
    doc.insert("spec".into(), l.spec_json.clone());
    Value::Object(doc)
}

/// A Workspace's Template (its config name), unless it is its Space's default.
fn template_of(l: &LiveResource) -> Option<String> {
    let t = l.template_ref.as_deref()?.split('.').next()?.to_string();
    (t != convert::DEFAULT_TEMPLATE).then_some(t)
}

fn yaml_doc(v: &Value) -> String {
    let mut out = String::new();
    yaml_value(v, 0, &mut out, false);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// YAML for JSON values: block maps and sequences, scalars in JSON form (JSON is YAML).
fn yaml_value(v: &Value, indent: usize, out: &mut String, inline_first: bool) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (i, (k, v)) in m.iter().enumerate() {
                if !(i == 0 && inline_first) {
                    out.push_str(&pad);
                }
                let key = serde_json::to_string(k).unwrap_or_default();
                match v {
                    Value::Object(o) if !o.is_empty() => {
                        let _ = writeln!(out, "{key}:");
                        yaml_value(v, indent + 2, out, false);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        let _ = writeln!(out, "{key}:");
                        yaml_value(v, indent, out, false);
                    }
                    _ => {
                        let _ = writeln!(out, "{key}: {}", scalar(v));
                    }
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for item in a {
                out.push_str(&pad);
                out.push_str("- ");
                match item {
                    Value::Object(o) if !o.is_empty() => yaml_value(item, indent + 2, out, true),
                    Value::Array(x) if !x.is_empty() => {
                        out.push('\n');
                        yaml_value(item, indent + 2, out, false);
                    }
                    _ => {
                        let _ = writeln!(out, "{}", scalar(item));
                    }
                }
            }
        }
        other => {
            let _ = writeln!(out, "{pad}{}", scalar(other));
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// An HCL string literal: JSON escapes, with `${` and `%{` kept literal.
fn hcl_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default().replace("${", "$${").replace("%{", "%%{")
}

/// An HCL value for an attribute (object literals with quoted keys for free-form maps).
fn hcl_value(v: &Value) -> String {
    match v {
        Value::String(s) => hcl_string(s),
        Value::Array(a) => format!("[{}]", a.iter().map(hcl_value).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{ {} }}",
            m.iter()
                .map(|(k, v)| format!("{} = {}", hcl_string(k), hcl_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// Object-valued fields whose keys are data (free-form maps), written as attributes.
const FREE_FORM: [&str; 3] = ["labels", "annotations", "attrs"];

/// A body of HCL from a protojson object: messages as blocks, repeated messages as one block
/// per item, scalars and free-form maps as attributes (`model::lower` reads it back).
fn hcl_body(m: &Map<String, Value>, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for (k, v) in m {
        let name = crate::model::lower::snake(k);
        match v {
            Value::Object(o) if !FREE_FORM.contains(&k.as_str()) => {
                let _ = writeln!(out, "{pad}{name} {{");
                hcl_body(o, indent + 2, out);
                let _ = writeln!(out, "{pad}}}");
            }
            Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_object) => {
                for item in a {
                    let _ = writeln!(out, "{pad}{name} {{");
                    if let Value::Object(o) = item {
                        hcl_body(o, indent + 2, out);
                    }
                    let _ = writeln!(out, "{pad}}}");
                }
            }
            other => {
                let _ = writeln!(out, "{pad}{name} = {}", hcl_value(other));
            }
        }
    }
}

/// A resource block.
fn hcl_block(l: &LiveResource) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {} {{", l.kind.keyword(), hcl_string(&l.address.name));
    if let Some(space) = &l.address.space {
        let _ = writeln!(out, "  space = {}", hcl_string(space));
    }
    if l.kind == Kind::Space && l.organization {
        out.push_str("  organization = true\n");
    }
    if !l.kind.server_named() {
        let md = metadata(l);
        let mut top = Map::new();
        for (k, v) in md {
            top.insert(if k == "picURL" { "pic_url".into() } else { k }, v);
        }
        hcl_body(&top, 2, &mut out);
    }
    if l.kind.sensitive() {
        let _ = writeln!(out, "  from_env = {}", hcl_string(&secret_env(&l.address)));
    } else {
        if let Some(t) = template_of(l) {
            let _ = writeln!(out, "  template = {}", hcl_string(&t));
        }
        if let Some(spec) = l.spec_json.as_object() {
            hcl_body(spec, 2, &mut out);
        }
    }
    out.push_str("}\n");
    out
}
