//! Evaluating HCL expressions into spanned [`Node`]s.
//!
//! Owns the evaluation [`Scope`] (variables, locals, the resource index, the function library)
//! and the walk that checks every reference before `hcl::eval` runs: `var.x`, `local.x` and
//! resource references (`space.ml`, `template.ml.gpu`, `secret.wandb`, `user.agent-1`) are
//! checked with their own spans and did-you-mean hints, resource references are replaced by the
//! name they stand for, and whatever derives from a sensitive variable is marked so. Array and
//! object literals are walked element by element so every element keeps its own span.
//! Must not read files other than through the `file()` family of functions.
//!
//! - [`refs`]: checking and rewriting the references of an expression.
//! - [`values`]: hcl values ↔ spanned nodes, and spans of expressions.

mod refs;
mod values;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use std::cell::RefCell;

use hcl::eval::{Context, Evaluate};
use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::visit_mut::VisitMut;
use hcl_edit::Span as _;

use super::budget::{self, Size};
use super::funcs;
use crate::config::tree::{Key, Node, Value};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, FileId, Span};
use crate::kind::Kind;
pub(crate) use refs::local_refs;
use refs::Refs;
pub(crate) use values::{any_sensitive, hcl_span, node_to_value, span_of, value_to_node};

/// The names an expression may start with: `var`, `local`, then every kind another resource
/// may refer to ([`Kind::referenceable`]).
pub(super) fn roots() -> Vec<&'static str> {
    let kinds = Kind::LISTED.into_iter().filter(|k| k.referenceable()).map(Kind::keyword);
    ["var", "local"].into_iter().chain(kinds).collect()
}

/// Every referenceable resource declared in the config, by kind, for checking references.
#[derive(Debug, Default)]
pub(super) struct ResourceIndex {
    /// Kinds outside Spaces: names.
    named: BTreeMap<Kind, BTreeSet<String>>,
    /// Space children: `(space, name)`.
    children: BTreeMap<Kind, BTreeSet<(String, String)>>,
}

static NO_NAMES: BTreeSet<String> = BTreeSet::new();
static NO_CHILDREN: BTreeSet<(String, String)> = BTreeSet::new();

impl ResourceIndex {
    /// Records a resource; `space` is for Space children ([`Kind::in_space`]).
    pub fn add(&mut self, kind: Kind, space: Option<String>, name: impl Into<String>) {
        match space {
            Some(space) => self.children.entry(kind).or_default().insert((space, name.into())),
            None => self.named.entry(kind).or_default().insert(name.into()),
        };
    }

    /// The names of a kind outside Spaces.
    pub fn names(&self, kind: Kind) -> &BTreeSet<String> {
        self.named.get(&kind).unwrap_or(&NO_NAMES)
    }

    /// The `(space, name)`s of a Space child kind.
    pub fn children(&self, kind: Kind) -> &BTreeSet<(String, String)> {
        self.children.get(&kind).unwrap_or(&NO_CHILDREN)
    }

    fn is_space(&self, name: &str) -> bool {
        self.names(Kind::Space).contains(name)
    }
}

/// Where a local stands during evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LocalState {
    /// Declared; evaluated later (or never, when part of a cycle).
    Pending,
    Done {
        sensitive: bool,
        /// What one reference to it copies (charged to the evaluation budget).
        size: Size,
    },
    /// Its evaluation failed and was reported; references to it fail silently.
    Failed,
}

/// What an expression may see.
pub(super) struct Scope {
    /// The functions, and per evaluation `var` and `local` holding only what the expression
    /// refers to: hcl-rs copies the whole object on every reference, so declaring every local
    /// made a chain of locals quadratic.
    ctx: RefCell<Context<'static>>,
    /// Declared variables: name → sensitive. Variables whose value failed are in `failed_vars`.
    vars: BTreeMap<String, bool>,
    var_values: hcl::Map<String, hcl::Value>,
    var_sizes: BTreeMap<String, Size>,
    failed_vars: BTreeSet<String>,
    locals: BTreeMap<String, LocalState>,
    local_values: hcl::Map<String, hcl::Value>,
    pub index: ResourceIndex,
    /// A literal scope (variable defaults, var files): no references at all.
    literal: bool,
    /// What `literal` scopes are evaluating, for the error message.
    literal_what: &'static str,
}

impl Scope {
    /// A scope with variables, locals and resources, empty until filled.
    pub fn new() -> Self {
        let mut ctx = Context::new();
        funcs::declare_all(&mut ctx);
        Scope {
            ctx: RefCell::new(ctx),
            vars: BTreeMap::new(),
            var_values: hcl::Map::new(),
            var_sizes: BTreeMap::new(),
            failed_vars: BTreeSet::new(),
            locals: BTreeMap::new(),
            local_values: hcl::Map::new(),
            index: ResourceIndex::default(),
            literal: false,
            literal_what: "",
        }
    }

    /// A scope for values that may use functions but no references (`what`: "a variable default").
    pub fn literal(what: &'static str) -> Self {
        Scope { literal: true, literal_what: what, ..Scope::new() }
    }

    /// Sets the variables: name → (value, sensitive); `failed`: declared without a usable value.
    pub fn set_vars(&mut self, values: Vec<(String, hcl::Value, bool)>, failed: BTreeSet<String>) {
        for (name, value, sensitive) in values {
            self.vars.insert(name.clone(), sensitive);
            self.var_sizes.insert(name.clone(), Size::of(&value));
            self.var_values.insert(name, value);
        }
        for name in &failed {
            self.vars.entry(name.clone()).or_insert(false);
        }
        self.failed_vars = failed;
    }

    /// What one reference to a variable copies.
    pub(super) fn size_of_var(&self, name: &str) -> Size {
        self.var_sizes.get(name).copied().unwrap_or_default()
    }

    pub fn declare_local(&mut self, name: &str) {
        self.locals.insert(name.to_string(), LocalState::Pending);
    }

    /// Records a local's value (`None`: it failed).
    pub fn set_local(&mut self, name: &str, node: Option<&Node>) {
        let state = match node {
            Some(n) => {
                let value = node_to_value(n);
                let size = Size::of(&value);
                self.local_values.insert(name.to_string(), value);
                LocalState::Done { sensitive: any_sensitive(n), size }
            }
            None => LocalState::Failed,
        };
        self.locals.insert(name.to_string(), state);
    }

    /// Evaluates an expression to a node. Problems are pushed to `diags`; `None` when it failed.
    pub fn eval(&self, expr: &Expression, file: FileId, diags: &mut Diagnostics) -> Option<Node> {
        let span = span_of(expr, file).unwrap_or(Span::file_start(file));
        self.eval_at(expr, file, span, diags)
    }

    fn eval_at(
        &self,
        expr: &Expression,
        file: FileId,
        span: Span,
        diags: &mut Diagnostics,
    ) -> Option<Node> {
        match expr {
            Expression::Parenthesis(p) => self.eval_at(p.inner(), file, span, diags),
            Expression::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for item in items.iter() {
                    let item_span = span_of(item, file).unwrap_or(span);
                    match self.eval_at(item, file, item_span, diags) {
                        Some(n) => out.push(n),
                        None => ok = false,
                    }
                }
                ok.then(|| Node::new(Value::List(out), span))
            }
            Expression::Object(object) => {
                let mut entries: Vec<(Key, Node)> = Vec::with_capacity(object.len());
                // Key → index in `entries`, so duplicates are found without a scan per key.
                let mut seen: HashMap<String, usize> = HashMap::with_capacity(object.len());
                let mut ok = true;
                for (key, value) in object.iter() {
                    let value_expr = value.expr();
                    let key_span = match key {
                        ObjectKey::Ident(id) => hcl_span(id.span(), file),
                        ObjectKey::Expression(e) => span_of(e, file),
                    }
                    .unwrap_or(span);
                    let name = match key {
                        ObjectKey::Ident(id) => Some(id.as_str().to_string()),
                        ObjectKey::Expression(e) => self.eval_key(e, file, key_span, diags),
                    };
                    let value_span = span_of(value_expr, file).unwrap_or(span);
                    let node = self.eval_at(value_expr, file, value_span, diags);
                    match (name, node) {
                        (Some(name), Some(node)) => {
                            if let Some(first) = seen.get(&name).map(|&i| &entries[i].0) {
                                diags.push(
                                    Diagnostic::error(
                                        "duplicate-key",
                                        format!("The key `{name}` is set twice in this object."),
                                    )
                                    .at(key_span)
                                    .related(first.span, "first set here")
                                    .help("Remove one of the two entries."),
                                );
                                ok = false;
                                continue;
                            }
                            seen.insert(name.clone(), entries.len());
                            entries.push((Key { name, span: key_span }, node));
                        }
                        _ => ok = false,
                    }
                }
                ok.then(|| Node::map(entries, span))
            }
            leaf => self.eval_leaf(leaf, file, span, diags),
        }
    }

    /// An object key written as an expression: must give a string (numbers and bools print).
    fn eval_key(
        &self,
        expr: &Expression,
        file: FileId,
        span: Span,
        diags: &mut Diagnostics,
    ) -> Option<String> {
        let node = self.eval_at(expr, file, span, diags)?;
        if node.sensitive {
            // Keys are never masked: plans show them in field paths and the server gets them in
            // plain text.
            diags.push(
                Diagnostic::error(
                    "sensitive-key",
                    "This key derives from a sensitive variable; a sensitive value cannot be a key.",
                )
                .at(span)
                .help("Keys are shown in plans and sent in plain text: write a key that is not sensitive."),
            );
            return None;
        }
        match &node.value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => {
                diags.push(
                    Diagnostic::error(
                        "invalid-key",
                        format!("An object key must be a string, not {}.", node.type_name()),
                    )
                    .at(span),
                );
                None
            }
        }
    }

    fn eval_leaf(
        &self,
        expr: &Expression,
        file: FileId,
        span: Span,
        diags: &mut Diagnostics,
    ) -> Option<Node> {
        if budget::exceeded().is_some() {
            // Reported once, where it ran out; nothing more is evaluated.
            return None;
        }
        let mut expr = expr.clone();
        let mut refs = Refs {
            scope: self,
            file,
            errors: Vec::new(),
            sensitive: false,
            failed_dep: false,
            bound: Vec::new(),
            vars_used: BTreeSet::new(),
            locals_used: BTreeSet::new(),
            copies: Size::default(),
            for_depth: 0,
        };
        refs.visit_expr_mut(&mut expr);
        let (sensitive, failed_dep) = (refs.sensitive, refs.failed_dep);
        if !refs.errors.is_empty() {
            refs.errors.into_iter().for_each(|d| diags.push(d));
            return None;
        }
        if failed_dep {
            // A variable or local it uses already failed and was reported.
            return None;
        }
        if budget::charge_size(refs.copies).is_err() {
            diags.push(budget_error(span));
            return None;
        }
        let pick = |names: &BTreeSet<String>, values: &hcl::Map<String, hcl::Value>| {
            let object: hcl::Map<String, hcl::Value> = names
                .iter()
                .filter_map(|n| values.get(n).map(|v| (n.clone(), v.clone())))
                .collect();
            hcl::Value::Object(object)
        };
        let mut ctx = self.ctx.borrow_mut();
        ctx.declare_var("var", pick(&refs.vars_used, &self.var_values));
        ctx.declare_var("local", pick(&refs.locals_used, &self.local_values));
        let expr: hcl::Expression = expr.into();
        let result = expr.evaluate(&ctx);
        // Drop the copies now rather than at the next evaluation.
        ctx.declare_var("var", hcl::Value::Null);
        ctx.declare_var("local", hcl::Value::Null);
        match result {
            Ok(_) if budget::exceeded().is_some() => {
                diags.push(budget_error(span));
                None
            }
            Ok(value) if Size::of(&value).depth > budget::MAX_VALUE_DEPTH => {
                diags.push(
                    Diagnostic::error(
                        "evaluation-budget",
                        format!(
                            "This value is nested more than {} levels deep.",
                            budget::MAX_VALUE_DEPTH
                        ),
                    )
                    .at(span)
                    .help(budget::HELP),
                );
                None
            }
            Ok(value) => Some(value_to_node(value, span, sensitive)),
            Err(_) if budget::exceeded().is_some() => {
                diags.push(budget_error(span));
                None
            }
            Err(e) => {
                diags.push(eval_error(&e, sensitive).at(span));
                None
            }
        }
    }
}

/// The diagnostic for an evaluation that ran out of budget, at the expression where it did.
fn budget_error(span: Span) -> Diagnostic {
    let what = budget::exceeded().unwrap_or(budget::Exceeded::Values);
    Diagnostic::error("evaluation-budget", what.message()).at(span).help(budget::HELP)
}

/// The diagnostic for a failed evaluation; no value is shown when the expression is sensitive.
fn eval_error(err: &hcl::eval::Error, sensitive: bool) -> Diagnostic {
    use hcl::eval::ErrorKind as K;
    let hidden = "(details hidden: it derives from a sensitive variable)";
    match err.kind() {
        K::UndefinedFunc(name) => {
            let name = name.to_string();
            let names: Vec<&str> = funcs::catalogue().into_iter().map(|(n, _)| n).collect();
            let help = match did_you_mean(&name, names.iter().copied()) {
                Some(s) => format!(
                    "Did you mean `{s}`? The functions are listed in docs/hcl-functions.md."
                ),
                None => "The functions are listed in docs/hcl-functions.md.".into(),
            };
            Diagnostic::error("unknown-function", format!("There is no function named `{name}`."))
                .help(help)
        }
        K::FuncCall(name, msg) if name.to_string().starts_with("__") => {
            let name = name.to_string();
            let op = funcs::arith::OPERATORS
                .iter()
                .find(|(f, _)| *f == name)
                .map(|(_, o)| *o)
                .unwrap_or("arithmetic");
            let detail = if sensitive { hidden.to_string() } else { funcs::humanize(msg) };
            Diagnostic::error(
                "invalid-expression",
                format!("The `{op}` operation failed: {}.", detail.trim_end_matches('.')),
            )
        }
        K::FuncCall(name, _) if sensitive => {
            Diagnostic::error("function-failed", format!("The call to `{name}()` failed {hidden}."))
        }
        K::FuncCall(name, msg) => Diagnostic::error(
            "function-failed",
            format!(
                "The call to `{name}()` failed: {}.",
                funcs::humanize(msg).trim_end_matches('.')
            ),
        )
        .help(format!("See `{name}` in docs/hcl-functions.md.")),
        K::Unexpected(_, expected) if sensitive => Diagnostic::error(
            "invalid-expression",
            format!("This expression has the wrong type: expected {expected} {hidden}."),
        ),
        _ if sensitive => {
            Diagnostic::error("invalid-expression", format!("This expression failed {hidden}."))
        }
        other => Diagnostic::error(
            "invalid-expression",
            format!(
                "This expression cannot be evaluated: {}.",
                funcs::humanize(&other.to_string()).trim_end_matches('.')
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(src: &str) -> Expression {
        hcl_edit::parser::parse_expr(src).expect("parses")
    }

    fn scope() -> Scope {
        let mut s = Scope::new();
        s.set_vars(
            vec![
                ("branch".into(), hcl::Value::from("main"), false),
                ("token".into(), hcl::Value::from("s3cret"), true),
            ],
            BTreeSet::new(),
        );
        s.index.add(Kind::Space, None, "ml");
        s.index.add(Kind::Space, None, "web");
        s.index.add(Kind::User, None, "agent-1");
        s.index.add(Kind::Template, Some("ml".into()), "gpu");
        s.index.add(Kind::Template, Some("ml".into()), "cpu");
        s.index.add(Kind::Template, Some("web".into()), "cpu");
        s.index.add(Kind::Secret, Some("ml".into()), "wandb");
        s
    }

    fn eval(src: &str) -> (Option<Node>, Diagnostics) {
        let mut d = Diagnostics::new();
        let n = scope().eval(&expr(src), FileId(0), &mut d);
        (n, d)
    }

    fn ok(src: &str) -> serde_json::Value {
        let (n, d) = eval(src);
        assert!(d.is_empty(), "{src}: {d:?}");
        n.expect("value").to_json()
    }

    fn err(src: &str) -> Diagnostic {
        let (n, d) = eval(src);
        assert!(n.is_none(), "{src}: expected failure");
        d.into_iter().next().expect("a diagnostic")
    }

    #[test]
    fn resource_references_become_names() {
        assert_eq!(ok("space.ml"), "ml");
        assert_eq!(ok("template.ml.gpu"), "gpu");
        assert_eq!(ok("template.gpu"), "gpu");
        assert_eq!(ok("secret.wandb"), "wandb");
        assert_eq!(ok("user.agent-1"), "agent-1");
        assert_eq!(ok("\"${space.ml}-x\""), "ml-x");
        assert_eq!(ok("[for s in [\"a\"]: \"${s}-${space.web}\"]"), serde_json::json!(["a-web"]));
    }

    #[test]
    fn bad_references_are_diagnosed_with_spans_and_hints() {
        let d = err("space.mll");
        assert_eq!(
            (d.span.map(|s| s.start), d.help.as_deref()),
            (Some(6), Some("Did you mean the space `ml`?"))
        );
        let d = err("template.cpu");
        assert!(d.message.contains("ambiguous"), "{}", d.message);
        assert!(d.help.as_deref().unwrap_or("").contains("template.ml.cpu"));
        let d = err("template.ml");
        assert!(d.help.as_deref().unwrap_or("").contains("is a space"));
        let d = err("template.ml.gppu");
        assert!(d.message.contains("in space `ml`"));
        assert_eq!(err("var.brnch").help.as_deref(), Some("Did you mean the variable `branch`?"));
        assert!(err("vars.X").message.contains("Unknown name `vars`"));
        assert!(err("space.ml.name").message.contains("ends there"));
        assert!(err("local.nope").message.contains("no local"));
        assert!(err("space").help.as_deref().unwrap_or("").contains("space.<resource name>"));
    }

    #[test]
    fn sensitive_values_taint_and_hide_errors() {
        let (n, _) = eval("\"Bearer ${var.token}\"");
        assert!(n.expect("value").sensitive);
        let (n, _) = eval("upper(var.branch)");
        assert!(!n.expect("value").sensitive);
        let (n, _) = eval("{ a = var.token, b = \"x\" }");
        let n = n.expect("value");
        assert!(!n.sensitive);
        assert_eq!(n.sensitive_paths(), vec!["a".to_string()]);
        let d = err("tonumber(var.token)");
        assert!(!d.message.contains("s3cret"), "{}", d.message);
    }

    #[test]
    fn literals_keep_element_spans() {
        let (n, _) = eval("[\"a\", \"b\"]");
        let n = n.expect("value");
        let Value::List(items) = &n.value else { panic!("a list") };
        assert_eq!((items[1].span.start, items[1].span.end), (6, 9));
    }

    #[test]
    fn function_errors_name_the_function() {
        let d = err("uper(\"a\")");
        assert_eq!(d.help.as_deref().map(|h| h.starts_with("Did you mean `upper`")), Some(true));
        let d = err("file(\"/nonexistent/x\")");
        assert!(d.message.contains("`file()` failed"), "{}", d.message);
    }

    #[test]
    fn arithmetic_never_panics_and_keeps_whole_numbers() {
        assert_eq!(ok("4 / 2"), 2);
        assert_eq!(ok("\"n=${1 + 2 * 3}\""), "n=7");
        assert_eq!(ok("9223372036854775807 * 2"), serde_json::json!(18446744073709551614u64));
        let d = err("1 % 0");
        assert_eq!(d.message, "The `%` operation failed: modulo by zero.");
        let d = err("var.token * 2");
        assert!(!d.message.contains("s3cret"), "{}", d.message);
    }

    #[test]
    fn literal_scopes_refuse_references() {
        let mut d = Diagnostics::new();
        let s = Scope::literal("a variable default");
        assert!(s.eval(&expr("var.x"), FileId(0), &mut d).is_none());
        assert!(d.iter().next().expect("diag").message.contains("a variable default"));
        assert!(s.eval(&expr("upper(\"a\")"), FileId(0), &mut d).is_some());
    }
}
