//! HCL: parsing with spans (`hcl-edit`), evaluating expressions (`hcl::eval`) with variables,
//! locals, resource references and our Terraform-style function library, and producing one
//! [`RawDoc`] per resource block in the raw HCL shape. Lowering that shape to the canonical
//! document is the model's job (`model::lower`). Reads the config files, var files and files
//! named by `file()`; must not talk to a cluster or read the environment.
//!
//! # The language
//!
//! Top-level blocks: `variable "x" { type default description sensitive validation {..} }`,
//! `locals { a = ... }`, and one block per resource: `space "ml" {}`, `template "gpu" {}`,
//! `user "agent-1" {}`, `workspace "box" {}`, `secret "wandb" {}`. All files of a directory
//! share one namespace. Expressions may use `var.<name>`, `local.<name>`, the functions of
//! [`funcs`], and resource references, which evaluate to the resource's name: `space.<name>`,
//! `user.<name>`, `template.<space>.<name>` and `secret.<space>.<name>` (or `template.<name>` /
//! `secret.<name>` when the name is unique across spaces). `$${{ vars.NAME }}` is HCL's escape
//! for Cordium's runtime `${{ vars.NAME }}`, which comes out literally. See `docs/hcl.md`.
//!
//! # The raw HCL shape
//!
//! Each resource block becomes a [`RawDoc`] (format [`Format::Hcl`]) whose node is a map:
//!
//! - `@kind`: the block type (`"template"`), spanning the block type keyword;
//! - `@name`: the block label (`"gpu"`), spanning the label;
//! - then the body in source order: every attribute under its own (snake_case) name with its
//!   evaluated value, spanning the expression (elements of array and object literals keep their
//!   own spans; values computed by an expression all carry its span); every nested block type
//!   under its name as a list of maps, one per block, each map starting with `@labels` (a list of
//!   the block's label strings) when the block has labels, then its own body in the same shape.
//!
//! Values derived from a `sensitive` variable carry `sensitive: true` on every node.

pub(crate) mod budget;
mod eval;
pub mod fmt;
pub mod funcs;
mod syntax;
mod vars;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hcl_edit::expr::{Expression, TraversalOperator};
use hcl_edit::structure::{Block, Body, Structure};
use hcl_edit::Span as _;

use super::stack::{self, Stack};
use super::tree::{Key, Node, Value};
use super::{Format, LoadOptions, RawDoc};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, FileId, Sources, Span};
use crate::kind::Kind;
use eval::{hcl_span, Scope};

/// The resource block types: one per kind, its keyword.
pub fn resource_kinds() -> impl Iterator<Item = &'static str> {
    Kind::LISTED.into_iter().map(Kind::keyword)
}

/// Every top-level block type of a config file.
fn top_level() -> Vec<&'static str> {
    ["variable", "locals", "moved", "import"].into_iter().chain(resource_kinds()).collect()
}

/// Parses and evaluates every HCL file (stack file excluded) into raw documents.
///
/// `files` may be absolute or relative to `root`. Problems are diagnostics; evaluation goes on
/// past them so one run reports everything.
pub fn load(
    root: &Path,
    files: &[PathBuf],
    stack: Option<&Stack>,
    opts: &LoadOptions,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> Vec<RawDoc> {
    load_with_variables(root, files, stack, opts, sources, diags).0
}

/// [`load`], and every declared variable's resolved value (what a saved plan records).
pub fn load_with_variables(
    root: &Path,
    files: &[PathBuf],
    stack: Option<&Stack>,
    opts: &LoadOptions,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> (Vec<RawDoc>, Vec<super::Variable>) {
    budget::scoped(|| {
        funcs::with_root(root, opts.allow_outside_files, || {
            Loader { root, sources, diags }.run(files, stack, opts)
        })
    })
}

/// A resource block, found in the declaration pass.
struct Resource<'a> {
    kind: Kind,
    name: String,
    block: &'a Block,
    file: FileId,
}

/// What the declaration pass found, in file order.
#[derive(Default)]
struct Declared<'a> {
    var_decls: Vec<vars::VarDecl>,
    seen_vars: BTreeMap<String, Span>,
    locals: Vec<Local<'a>>,
    seen_locals: BTreeMap<String, Span>,
    resources: Vec<Resource<'a>>,
    /// `moved` blocks, as documents of the canonical shape (`kind: Moved`, `from`, `to`).
    moves: Vec<RawDoc>,
    /// `import { to = ADDRESS  id = "NAME" }` blocks, as documents `{import: {to, id}}`
    /// (`config::imports` reads them, for both formats).
    imports: Vec<RawDoc>,
}

/// Indexes the referenceable resources: Spaces and Users by label, Space children by their
/// `space` attribute. Returns the children whose `space` is not known before the locals are.
fn index_resources<'r, 'a>(
    resources: &'r [Resource<'a>],
    scope: &mut Scope,
) -> Vec<&'r Resource<'a>> {
    let mut pending = Vec::new();
    for r in resources.iter().filter(|r| r.kind.referenceable()) {
        if !r.kind.in_space() {
            scope.index.add(r.kind, None, r.name.clone());
            continue;
        }
        match static_space(r.block, r.file, scope) {
            Some(space) => scope.index.add(r.kind, Some(space), r.name.clone()),
            None => pending.push(r),
        }
    }
    pending
}

struct Local<'a> {
    name: String,
    expr: &'a Expression,
    file: FileId,
    span: Span,
}

struct Loader<'s> {
    root: &'s Path,
    sources: &'s mut Sources,
    diags: &'s mut Diagnostics,
}

impl Loader<'_> {
    fn run(
        mut self,
        files: &[PathBuf],
        stack: Option<&Stack>,
        opts: &LoadOptions,
    ) -> (Vec<RawDoc>, Vec<super::Variable>) {
        let parsed = self.parse_all(files);
        let declared = self.declarations(&parsed);
        let (mut scope, variables) = self.variables(&declared.var_decls, stack, opts);
        // Space children whose `space` needs a local are indexed once the locals are known.
        let pending = index_resources(&declared.resources, &mut scope);
        self.eval_locals(&declared.locals, &mut scope);
        for r in pending {
            if let Some(space) = static_space(r.block, r.file, &scope) {
                scope.index.add(r.kind, Some(space), r.name.clone());
            }
        }
        let mut docs: Vec<RawDoc> =
            declared.resources.iter().map(|r| self.raw_doc(r, &scope)).collect();
        docs.extend(declared.moves);
        docs.extend(declared.imports);
        (docs, variables)
    }

    /// An `import` block as the document `{import: {to: "ADDRESS", id: "NAME"}}`: `to` is an
    /// address written as a reference (its text), `id` a string literal.
    fn import_doc(&mut self, block: &Block, file: FileId, span: Span) -> Option<RawDoc> {
        let mut entries = Vec::new();
        for structure in block.body.iter() {
            let Structure::Attribute(attr) = structure else {
                self.diags.push(
                    Diagnostic::error(
                        "unexpected-block",
                        "An import block holds only `to` and `id`.",
                    )
                    .at(span),
                );
                continue;
            };
            let key = attr.key.as_str();
            let key_span = hcl_span(attr.key.span(), file).unwrap_or(span);
            let value_span = hcl_span(attr.value.span(), file).unwrap_or(key_span);
            let value = match (key, &attr.value) {
                ("to", _) => self.sources.snippet(value_span).trim().to_string(),
                ("id", Expression::String(s)) => s.value().to_string(),
                ("id", _) => {
                    self.diags.push(
                        Diagnostic::error(
                            "import",
                            "An import's `id` is a string: the live object's name.",
                        )
                        .at(value_span)
                        .help("Write `id = \"NAME.SPACE\"`."),
                    );
                    continue;
                }
                (other, _) => {
                    self.diags.push(
                        Diagnostic::error(
                            "unknown-field",
                            format!("An import block has no `{other}`."),
                        )
                        .at(key_span)
                        .help("An import block holds `to` (the address) and `id` (the live name)."),
                    );
                    continue;
                }
            };
            entries.push((
                Key { name: key.to_string(), span: key_span },
                Node::string(value, value_span),
            ));
        }
        let inner = Node::map(entries, span);
        let node = Node::map(vec![(Key { name: "import".into(), span }, inner)], span);
        Some(RawDoc { format: super::Format::Hcl, node, span, file, reparse: None })
    }

    /// The declaration pass: variables, locals and resource blocks of every file, and an error
    /// for each top-level attribute.
    fn declarations<'a>(&mut self, parsed: &'a [(FileId, Body)]) -> Declared<'a> {
        let mut declared = Declared::default();
        for (file, body) in parsed {
            // Only `name = value` lines: a var file no environment or flag names. Not config
            // (docs/stack.md, "What is config").
            let attributes = body.iter().filter(|s| matches!(s, Structure::Attribute(_))).count();
            if attributes > 0 && attributes == body.iter().count() {
                self.diags.push(
                    Diagnostic::warning(
                        "var-file-skipped",
                        "this file holds only `name = value` lines, as a var file does; it is not \
                         loaded as config",
                    )
                    .at(Span::file_start(*file))
                    .help(
                        "to use its values, name it in an environment's `var_files` in \
                         cordium.hcl or pass it with --var-file; to silence this, list it in \
                         .cordiumignore",
                    ),
                );
                continue;
            }
            for structure in body.iter() {
                match structure {
                    Structure::Attribute(attr) => self.top_level_attribute(attr, *file),
                    Structure::Block(block) => self.declare(block, *file, &mut declared),
                }
            }
        }
        declared
    }

    fn top_level_attribute(&mut self, attr: &hcl_edit::structure::Attribute, file: FileId) {
        let span = hcl_span(attr.key.span(), file).unwrap_or(Span::file_start(file));
        let help = if attr.key.as_str() == "endpoint" {
            "`endpoint` belongs in an `environment` block of cordium.hcl.".to_string()
        } else {
            format!(
                "Put it in a `locals {{ {} = ... }}` block or inside a resource block.",
                attr.key.as_str()
            )
        };
        self.diags.push(
            Diagnostic::error(
                "unexpected-attribute",
                format!(
                    "`{}` is an attribute at the top level of a config file.",
                    attr.key.as_str()
                ),
            )
            .at(span)
            .help(help),
        );
    }

    /// The variables' values (defaults, environment, the environment's var files, arguments)
    /// in a fresh scope.
    fn variables(
        &mut self,
        var_decls: &[vars::VarDecl],
        stack: Option<&Stack>,
        opts: &LoadOptions,
    ) -> (Scope, Vec<super::Variable>) {
        let env_files = match &opts.env {
            Some(name) => match stack::select(stack, name) {
                Ok(env) => env.var_files.clone(),
                Err(d) => {
                    self.diags.push(*d);
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        let resolved =
            vars::resolve(var_decls, self.root, &env_files, opts, self.sources, self.diags);
        let variables = resolved
            .values
            .iter()
            .map(|(name, value, sensitive)| super::Variable {
                name: name.clone(),
                value: serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
                sensitive: *sensitive,
            })
            .collect();
        let mut scope = Scope::new();
        scope.set_vars(resolved.values, resolved.failed);
        (scope, variables)
    }

    /// One resource block as a raw document: `@kind`, `@name` and its evaluated body.
    fn raw_doc(&mut self, r: &Resource<'_>, scope: &Scope) -> RawDoc {
        let span = hcl_span(r.block.span(), r.file).unwrap_or(Span::file_start(r.file));
        let kind_span = hcl_span(r.block.ident.span(), r.file).unwrap_or(span);
        let name_span =
            r.block.labels.first().and_then(|l| hcl_span(l.span(), r.file)).unwrap_or(kind_span);
        let mut entries = vec![
            (
                Key { name: "@kind".into(), span: kind_span },
                Node::string(r.kind.keyword(), kind_span),
            ),
            (
                Key { name: "@name".into(), span: name_span },
                Node::string(r.name.clone(), name_span),
            ),
        ];
        let mut body = raw_body(&r.block.body, r.file, scope, self.diags);
        self.spec_files(&r.block.body, &mut body);
        entries.extend(body);
        RawDoc {
            format: Format::Hcl,
            node: Node::map(entries, span),
            span,
            file: r.file,
            reparse: None,
        }
    }

    /// `spec = yamldecode(file("PATH"))` with a literal path under the root: once it has
    /// evaluated, the spec is read again from the file with the file's own spans (same value),
    /// so a problem inside a bare spec file is shown at its line and column, not at the call.
    fn spec_files(&mut self, body: &Body, entries: &mut [(Key, Node)]) {
        for s in body.iter() {
            let Structure::Attribute(attr) = s else { continue };
            if attr.key.as_str() != "spec" {
                continue;
            }
            let Some(path) = yamldecode_file_path(&attr.value) else { continue };
            let Some(entry) = entries.iter_mut().find(|(k, _)| k.name == "spec") else { continue };
            let rel = Path::new(&path);
            let inside = rel.components().all(|c| {
                matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir)
            });
            if !inside || entry.1.sensitive {
                continue;
            }
            // Problems were reported by the evaluation; this second read only moves spans.
            let mut scratch = Diagnostics::new();
            let Some((file, text)) = super::read_source(self.root, rel, self.sources, &mut scratch)
            else {
                continue;
            };
            let mut docs = super::yaml::parse(file, &text, &mut scratch);
            if scratch.has_errors() || docs.len() != 1 {
                continue;
            }
            let node = docs.remove(0).node;
            if node.to_json() == entry.1.to_json() {
                entry.1 = node;
            }
        }
    }

    fn parse_all(&mut self, files: &[PathBuf]) -> Vec<(FileId, Body)> {
        let mut out = Vec::new();
        for f in files {
            let full = if f.is_absolute() { f.clone() } else { self.root.join(f) };
            let shown = super::read::shown(&full);
            let bytes = match super::read::regular_file(&full, syntax::MAX_FILE_BYTES as u64) {
                Err(super::read::ReadError::TooLarge { .. }) => {
                    let id = self.sources.add(shown, "");
                    self.diags.push(
                        Diagnostic::error(
                            "file-too-large",
                            format!(
                                "This file is larger than {} MiB and is not read.",
                                syntax::MAX_FILE_BYTES >> 20
                            ),
                        )
                        .at(Span::file_start(id)),
                    );
                    continue;
                }
                Err(super::read::ReadError::NotRegular { what }) => {
                    let id = self.sources.add(shown.clone(), "");
                    self.diags.push(super::not_regular(&shown, what, id));
                    continue;
                }
                other => other,
            };
            let text = match bytes.map(String::from_utf8) {
                Ok(Ok(t)) => t,
                Ok(Err(_)) => {
                    let id = self.sources.add(shown.clone(), "");
                    self.diags.push(
                        Diagnostic::error(
                            "unreadable-file",
                            format!("{} is not UTF-8 text.", shown.display()),
                        )
                        .at(Span::file_start(id))
                        .help("Save the file as UTF-8."),
                    );
                    continue;
                }
                Err(e) => {
                    self.diags.push(Diagnostic::error(
                        "unreadable-file",
                        format!("Cannot read {}: {e}.", shown.display()),
                    ));
                    continue;
                }
            };
            // A UTF-8 byte order mark is accepted, as in YAML (editors on Windows write one).
            let text = match text.strip_prefix('\u{feff}') {
                Some(rest) => rest.to_string(),
                None => text,
            };
            let id = self.sources.add(shown, text.clone());
            match syntax::parse(&text, id) {
                Ok(body) => out.push((id, body)),
                Err(d) => self.diags.extend(d),
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn declare<'a>(&mut self, block: &'a Block, file: FileId, d: &mut Declared<'a>) {
        let ident = block.ident.as_str();
        let span = hcl_span(block.span(), file).unwrap_or(Span::file_start(file));
        let ident_span = hcl_span(block.ident.span(), file).unwrap_or(span);
        let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
        match ident {
            "variable" => {
                let [name] = labels.as_slice() else {
                    return self.label_error(ident, "variable \"name\" { }", ident_span);
                };
                if let Some(first) = d.seen_vars.get(*name) {
                    self.diags.push(
                        Diagnostic::error("duplicate-variable", format!("The variable `{name}` is declared twice."))
                            .at(span)
                            .related(*first, "first declared here"),
                    );
                    return;
                }
                d.seen_vars.insert(name.to_string(), span);
                if let Some(decl) = vars::declare(block, name, file, self.diags) {
                    d.var_decls.push(decl);
                }
            }
            "locals" => {
                if !labels.is_empty() {
                    return self.label_error(ident, "locals { name = value }", ident_span);
                }
                for structure in block.body.iter() {
                    match structure {
                        Structure::Attribute(attr) => {
                            let name = attr.key.as_str().to_string();
                            let key_span = hcl_span(attr.key.span(), file).unwrap_or(span);
                            if let Some(first) = d.seen_locals.get(&name) {
                                self.diags.push(
                                    Diagnostic::error("duplicate-local", format!("The local `{name}` is set twice."))
                                        .at(key_span)
                                        .related(*first, "first set here"),
                                );
                                continue;
                            }
                            d.seen_locals.insert(name.clone(), key_span);
                            d.locals.push(Local { name, expr: &attr.value, file, span: key_span });
                        }
                        Structure::Block(b) => self.diags.push(
                            Diagnostic::error("unexpected-block", "A locals block holds only `name = value` attributes.")
                                .at_opt(hcl_span(b.ident.span(), file)),
                        ),
                    }
                }
            }
            "moved" => {
                if !labels.is_empty() {
                    return self.label_error(ident, "moved { from = ...  to = ... }", ident_span);
                }
                if let Some(doc) = self.moved(block, file, span) {
                    d.moves.push(doc);
                }
            }
            word if Kind::from_keyword(word).is_some() => {
                let [name] = labels.as_slice() else {
                    return self.label_error(ident, &format!("{word} \"name\" {{ }}"), ident_span);
                };
                let Some(kind) = Kind::from_keyword(word) else { return };
                d.resources.push(Resource { kind, name: name.to_string(), block, file });
            }
            "import" => {
                if !labels.is_empty() {
                    return self.label_error(ident, "import { to = template.SPACE.NAME  id = \"NAME.SPACE\" }", ident_span);
                }
                if let Some(doc) = self.import_doc(block, file, span) {
                    d.imports.push(doc);
                }
            }
            "stack" | "environment" => self.diags.push(
                Diagnostic::error("unexpected-block", format!("A `{ident}` block belongs in the stack file cordium.hcl at the config root."))
                    .at(ident_span)
                    .help("Move it to cordium.hcl; see docs/stack.md."),
            ),
            other => {
                let top_level = top_level();
                let help = match did_you_mean(other, top_level.iter().copied()) {
                    Some(s) => format!("Did you mean `{s}`?"),
                    None => format!("Top-level blocks are: {}.", top_level.join(", ")),
                };
                self.diags.push(
                    Diagnostic::error("unknown-block", format!("Unknown block type `{other}`.")).at(ident_span).help(help),
                );
            }
        }
    }

    /// A `moved { from = workspace.ml.old  to = workspace.ml.new }` block: two addresses,
    /// written as references (not evaluated: they name config addresses, not values). Checked
    /// against the model by `model::moves`.
    fn moved(&mut self, block: &Block, file: FileId, span: Span) -> Option<RawDoc> {
        let text = self.sources.text(file).to_string();
        let mut entries = vec![(
            Key { name: "kind".into(), span },
            Node::string("Moved", hcl_span(block.ident.span(), file).unwrap_or(span)),
        )];
        let mut ok = true;
        for structure in block.body.iter() {
            match structure {
                Structure::Attribute(attr) if matches!(attr.key.as_str(), "from" | "to") => {
                    let key_span = hcl_span(attr.key.span(), file).unwrap_or(span);
                    let value_span = hcl_span(attr.value.span(), file).unwrap_or(key_span);
                    let written = text.get(value_span.start..value_span.end).unwrap_or("").trim();
                    entries.push((
                        Key { name: attr.key.as_str().to_string(), span: key_span },
                        Node::string(written, value_span),
                    ));
                }
                Structure::Attribute(attr) => {
                    ok = false;
                    self.diags.push(
                        Diagnostic::error(
                            "unknown-field",
                            format!("A `moved` block has no `{}`.", attr.key.as_str()),
                        )
                        .at_opt(hcl_span(attr.key.span(), file))
                        .help("A `moved` block holds `from` and `to`, each a resource address."),
                    );
                }
                Structure::Block(b) => {
                    ok = false;
                    self.diags.push(
                        Diagnostic::error(
                            "unexpected-block",
                            "A `moved` block holds only `from` and `to`.",
                        )
                        .at_opt(hcl_span(b.ident.span(), file)),
                    );
                }
            }
        }
        ok.then(|| RawDoc {
            format: Format::Hcl,
            node: Node::map(entries, span),
            span,
            file,
            reparse: None,
        })
    }

    fn label_error(&mut self, ident: &str, example: &str, span: Span) {
        self.diags.push(
            Diagnostic::error(
                "invalid-labels",
                format!("A `{ident}` block has the wrong number of labels."),
            )
            .at(span)
            .help(format!("Write `{example}`.")),
        );
    }

    /// Evaluates locals in dependency order; reports cycles and never evaluates their members.
    fn eval_locals(&mut self, locals: &[Local<'_>], scope: &mut Scope) {
        for l in locals {
            scope.declare_local(&l.name);
        }
        let index: BTreeMap<&str, usize> =
            locals.iter().enumerate().map(|(i, l)| (l.name.as_str(), i)).collect();
        let deps: Vec<Vec<(usize, Span)>> = locals
            .iter()
            .map(|l| {
                eval::local_refs(l.expr, l.file)
                    .into_iter()
                    .filter_map(|(n, s)| index.get(n.as_str()).map(|&i| (i, s)))
                    .collect()
            })
            .collect();
        // Iterative depth-first search: 0 unvisited, 1 on the path, 2 done.
        let mut state = vec![0u8; locals.len()];
        let mut order = Vec::with_capacity(locals.len());
        let mut in_cycle = BTreeSet::new();
        for start in 0..locals.len() {
            if state[start] != 0 {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            state[start] = 1;
            while let Some(top) = stack.last_mut() {
                let (n, i) = *top;
                if let Some(&(d, ref_span)) = deps[n].get(i) {
                    top.1 += 1;
                    match state[d] {
                        0 => {
                            state[d] = 1;
                            stack.push((d, 0));
                        }
                        1 => {
                            let from = stack.iter().position(|(x, _)| *x == d).unwrap_or(0);
                            let members: Vec<usize> =
                                stack[from..].iter().map(|(x, _)| *x).collect();
                            if members.iter().all(|m| !in_cycle.contains(m)) {
                                self.report_cycle(locals, &members, ref_span);
                            }
                            in_cycle.extend(members);
                        }
                        _ => {}
                    }
                } else {
                    state[n] = 2;
                    order.push(n);
                    stack.pop();
                }
            }
        }
        // Chain length: a local is one more than the longest chain it uses (`order` has every
        // local after the ones it uses).
        let mut chain = vec![0usize; locals.len()];
        for i in order {
            let l = &locals[i];
            if in_cycle.contains(&i) {
                scope.set_local(&l.name, None);
                continue;
            }
            chain[i] = 1 + deps[i].iter().map(|&(d, _)| chain[d]).max().unwrap_or(0);
            if chain[i] == budget::MAX_LOCAL_CHAIN + 1 {
                self.diags.push(
                    Diagnostic::error(
                        "evaluation-budget",
                        format!(
                            "local.{} ends a chain of more than {} locals, each using the next.",
                            l.name,
                            budget::MAX_LOCAL_CHAIN
                        ),
                    )
                    .at(l.span)
                    .help(budget::HELP),
                );
            }
            if chain[i] > budget::MAX_LOCAL_CHAIN {
                scope.set_local(&l.name, None);
                continue;
            }
            let node = scope.eval(l.expr, l.file, self.diags);
            scope.set_local(&l.name, node.as_ref());
        }
    }

    fn report_cycle(&mut self, locals: &[Local<'_>], members: &[usize], closing: Span) {
        let mut names: Vec<String> =
            members.iter().map(|&m| format!("local.{}", locals[m].name)).collect();
        if let Some(first) = names.first().cloned() {
            names.push(first);
        }
        let mut d = Diagnostic::error(
            "local-cycle",
            format!("These locals refer to each other in a cycle: {}.", names.join(" → ")),
        )
        .at(closing)
        .help("Break the cycle: one of them must not depend on the others.");
        for &m in members {
            d = d.related(locals[m].span, format!("local.{} is defined here", locals[m].name));
        }
        self.diags.push(d);
    }
}

/// A block body in the raw shape (attributes and nested blocks, in source order).
/// The path of `yamldecode(file("PATH"))` written with a literal path.
fn yamldecode_file_path(e: &Expression) -> Option<String> {
    let Expression::FuncCall(call) = e else { return None };
    if call.name.name.as_str() != "yamldecode" || call.args.len() != 1 {
        return None;
    }
    let Some(Expression::FuncCall(inner)) = call.args.get(0) else { return None };
    if inner.name.name.as_str() != "file" || inner.args.len() != 1 {
        return None;
    }
    match inner.args.get(0) {
        Some(Expression::String(s)) => Some(s.value().to_string()),
        _ => None,
    }
}

fn raw_body(body: &Body, file: FileId, scope: &Scope, diags: &mut Diagnostics) -> Vec<(Key, Node)> {
    let mut entries: Vec<(Key, Node)> = Vec::new();
    // Name → index in `entries`: one lookup per attribute or block, not a scan.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut from_blocks: BTreeSet<String> = BTreeSet::new();
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                let name = attr.key.as_str().to_string();
                let key_span = hcl_span(attr.key.span(), file).unwrap_or(Span::file_start(file));
                if let Some(first) = seen.get(&name).map(|&i| &entries[i].0) {
                    diags.push(
                        Diagnostic::error(
                            "duplicate-attribute",
                            format!("`{name}` is set twice in this block."),
                        )
                        .at(key_span)
                        .related(first.span, "first set here")
                        .help("Remove one of them."),
                    );
                    continue;
                }
                if let Some(node) = scope.eval(&attr.value, file, diags) {
                    seen.insert(name.clone(), entries.len());
                    entries.push((Key { name, span: key_span }, node));
                }
            }
            Structure::Block(block) => {
                let name = block.ident.as_str().to_string();
                let span = hcl_span(block.span(), file).unwrap_or(Span::file_start(file));
                let ident_span = hcl_span(block.ident.span(), file).unwrap_or(span);
                let mut inner = Vec::new();
                if !block.labels.is_empty() {
                    let labels: Vec<Node> = block
                        .labels
                        .iter()
                        .map(|l| {
                            Node::string(l.as_str(), hcl_span(l.span(), file).unwrap_or(ident_span))
                        })
                        .collect();
                    let labels_span = labels.first().map(|n| n.span).unwrap_or(ident_span);
                    inner.push((
                        Key { name: "@labels".into(), span: labels_span },
                        Node::new(Value::List(labels), labels_span),
                    ));
                }
                inner.extend(raw_body(&block.body, file, scope, diags));
                let node = Node::map(inner, span);
                match seen.get(&name).and_then(|&i| entries.get_mut(i)) {
                    Some((_, Node { value: Value::List(items), span: list_span, .. }))
                        if from_blocks.contains(&name) =>
                    {
                        *list_span = list_span.to(span);
                        items.push(node);
                    }
                    Some((first, _)) => {
                        let first = first.span;
                        diags.push(
                            Diagnostic::error(
                                "duplicate-attribute",
                                format!("`{name}` is set both as an attribute and as a block."),
                            )
                            .at(ident_span)
                            .related(first, "set as an attribute here")
                            .help("Keep one form."),
                        );
                    }
                    None => {
                        from_blocks.insert(name.clone());
                        seen.insert(name.clone(), entries.len());
                        entries.push((
                            Key { name, span: ident_span },
                            Node::new(Value::List(vec![node]), span),
                        ));
                    }
                }
            }
        }
    }
    entries
}

/// The Space of a template or secret block, if it can be told before resources are evaluated:
/// `space = space.ml`, `space = "ml"`, or an expression of variables and locals.
fn static_space(block: &Block, file: FileId, scope: &Scope) -> Option<String> {
    let expr = &block.body.get_attribute("space")?.value;
    if let Expression::Traversal(t) = expr {
        if let (Expression::Variable(root), [op]) = (&t.expr, t.operators.as_slice()) {
            if root.as_str() == "space" {
                if let TraversalOperator::GetAttr(id) = op.value() {
                    return Some(id.as_str().to_string());
                }
            }
        }
    }
    let mut quiet = Diagnostics::new();
    scope.eval(expr, file, &mut quiet).and_then(|n| n.as_str().map(str::to_string))
}

/// Parses a file of literal values (the stack file) into the raw shape of its whole body:
/// attributes by name, blocks by type as lists of maps with `@labels`. Functions are allowed,
/// references are not. `None` on a syntax error (reported).
pub(crate) fn load_literal(text: &str, file: FileId, diags: &mut Diagnostics) -> Option<Node> {
    let body = match syntax::parse(text, file) {
        Ok(b) => b,
        Err(d) => {
            diags.extend(d);
            return None;
        }
    };
    let scope = Scope::literal("the stack file");
    let entries = budget::scoped(|| raw_body(&body, file, &scope, diags));
    Some(Node::map(entries, Span::new(file, 0, text.len())))
}

#[cfg(test)]
mod tests;
