//! Checking the references of one expression before `hcl::eval` runs: `var.x`, `local.x` and
//! resource references, each with its own span and did-you-mean hint; resource references are
//! replaced by the name they stand for, and sensitivity and failed dependencies are recorded.

use hcl_edit::expr::{
    BinaryOp, BinaryOperator, Expression, ForExpr, FuncArgs, FuncCall, FuncName, ObjectKey,
    ObjectKeyMut, Traversal, TraversalOperator,
};
use std::collections::BTreeSet;

use hcl_edit::template::{Element, ForTemplateExpr, Interpolation, Template};
use hcl_edit::visit_mut::{self, VisitMut};
use hcl_edit::Ident;
use hcl_edit::Span as _;

use super::{hcl_span, roots, LocalState, Scope};
use crate::config::hcl::budget::{self, Size};
use crate::diag::{did_you_mean, Diagnostic, FileId, Span};
use crate::kind::Kind;

/// A resource reference being resolved: its root keyword, kind, traversal and whole span.
struct Reference<'a> {
    root: &'a str,
    kind: Kind,
    t: &'a Traversal,
    whole: Span,
}

/// Checks and rewrites the references of one leaf expression.
pub(super) struct Refs<'a> {
    pub(super) scope: &'a Scope,
    pub(super) file: FileId,
    pub(super) errors: Vec<Diagnostic>,
    pub(super) sensitive: bool,
    pub(super) failed_dep: bool,
    /// Names bound by enclosing `for` expressions and directives.
    pub(super) bound: Vec<String>,
    /// Variables and locals referred to (each once), for the evaluation context.
    pub(super) vars_used: BTreeSet<String>,
    pub(super) locals_used: BTreeSet<String>,
    /// What the references copy, each occurrence counted: charged before evaluation.
    pub(super) copies: Size,
    /// `for` expressions and directives around the current point.
    pub(super) for_depth: usize,
}

impl Refs<'_> {
    fn span(&self, r: Option<std::ops::Range<usize>>) -> Span {
        hcl_span(r, self.file).unwrap_or(Span::file_start(self.file))
    }

    fn error(&mut self, span: Span, message: String, help: Option<String>) {
        let mut d = Diagnostic::error("invalid-reference", message).at(span);
        if let Some(h) = help {
            d = d.help(h);
        }
        self.errors.push(d);
    }

    fn literal_error(&mut self, span: Span) {
        let what = self.scope.literal_what;
        self.error(
            span,
            format!("References are not allowed in {what}."),
            Some("Write a literal value; functions are allowed.".into()),
        );
    }

    /// A bare root name used as a value (`var`, `space`, or an unknown name).
    fn bare(&mut self, name: &str, span: Span) {
        if self.scope.literal {
            return self.literal_error(span);
        }
        let roots = roots();
        if roots.contains(&name) {
            let what = if name == "var" || name == "local" { "name" } else { "resource name" };
            self.error(
                span,
                format!("`{name}` cannot be used on its own."),
                Some(format!("Write `{name}.<{what}>`.")),
            );
        } else {
            let help = match did_you_mean(name, roots.iter().copied()) {
                Some(s) => format!(
                    "Did you mean `{s}`? References start with one of: {}.",
                    roots.join(", ")
                ),
                None => format!("References start with one of: {}.", roots.join(", ")),
            };
            self.error(span, format!("Unknown name `{name}`."), Some(help));
        }
    }

    /// Handles a traversal rooted at a free name. Returns the literal that replaces it, if it is
    /// a resource reference.
    fn traversal(&mut self, root: &str, t: &Traversal) -> Option<Expression> {
        let root_span = self.span(t.expr.span());
        let whole = self.span(t.span()).to(root_span);
        if self.scope.literal {
            self.literal_error(whole);
            return None;
        }
        let attrs: Vec<(&str, Span)> = t
            .operators
            .iter()
            .map_while(|op| match op.value() {
                TraversalOperator::GetAttr(id) => Some((id.as_str(), self.span(id.span()))),
                _ => None,
            })
            .collect();
        let Some(&(first, first_span)) = attrs.first() else {
            self.bare(root, root_span);
            return None;
        };
        let resource = Kind::from_keyword(root).filter(|k| k.referenceable());
        match (root, resource) {
            ("var", _) => {
                self.var_ref(first, first_span);
                None
            }
            ("local", _) => {
                self.local_ref(first, first_span);
                None
            }
            (_, Some(kind)) if !kind.in_space() => {
                let r = Reference { root, kind, t, whole };
                self.top_level_ref(&r, first, first_span)
            }
            (_, Some(kind)) => self.space_child_ref(&Reference { root, kind, t, whole }, &attrs),
            _ => {
                self.bare(root, root_span);
                None
            }
        }
    }

    /// `var.<name>`: marks sensitivity and failed dependencies, or says the variable is unknown.
    fn var_ref(&mut self, name: &str, span: Span) {
        match self.scope.vars.get(name) {
            Some(sensitive) => {
                self.sensitive |= sensitive;
                self.failed_dep |= self.scope.failed_vars.contains(name);
                self.copies = self.copies.add(self.scope.size_of_var(name));
                self.vars_used.insert(name.to_string());
            }
            None => {
                let help = hint(name, self.scope.vars.keys().map(String::as_str), "variable")
                    .unwrap_or_else(|| {
                        format!("Declare it: `variable \"{name}\" {{ type = string }}`.")
                    });
                self.error(span, format!("There is no variable named `{name}`."), Some(help));
            }
        }
    }

    /// `local.<name>`: marks sensitivity and failed dependencies, or says the local is unknown.
    fn local_ref(&mut self, name: &str, span: Span) {
        match self.scope.locals.get(name) {
            Some(LocalState::Done { sensitive, size }) => {
                self.sensitive |= sensitive;
                self.copies = self.copies.add(*size);
                self.locals_used.insert(name.to_string());
            }
            Some(LocalState::Failed | LocalState::Pending) => self.failed_dep = true,
            None => {
                let help = hint(name, self.scope.locals.keys().map(String::as_str), "local")
                    .unwrap_or_else(|| {
                        format!("Declare it in a `locals {{ {name} = ... }}` block.")
                    });
                self.error(span, format!("There is no local named `{name}`."), Some(help));
            }
        }
    }

    /// `space.<name>`, `user.<name>`: the name, when such a resource is declared.
    fn top_level_ref(&mut self, r: &Reference<'_>, name: &str, span: Span) -> Option<Expression> {
        let root = r.root;
        let names = self.scope.index.names(r.kind);
        if !names.contains(name) {
            let help = hint(name, names.iter().map(String::as_str), root)
                .unwrap_or_else(|| format!("Declare it: `{root} \"{name}\" {{ }}`."));
            self.error(span, format!("There is no {root} named `{name}`."), Some(help));
            return None;
        }
        self.end_of_reference(r.t, 1, r.whole)?;
        Some(Expression::from(name))
    }

    /// `template.<space>.<name>` or `template.<name>` (unique across spaces): the name, when
    /// such a resource is declared.
    fn space_child_ref(&mut self, r: &Reference<'_>, attrs: &[(&str, Span)]) -> Option<Expression> {
        let (first, first_span) = attrs[0];
        if let Some(&(second, second_span)) = attrs.get(1) {
            if self.scope.index.is_space(first) {
                return self.qualified_child_ref(r, first, second, second_span);
            }
        }
        self.unqualified_child_ref(r, first, first_span)
    }

    /// `template.<space>.<name>`.
    fn qualified_child_ref(
        &mut self,
        r: &Reference<'_>,
        space: &str,
        name: &str,
        span: Span,
    ) -> Option<Expression> {
        let root = r.root;
        let items = self.scope.index.children(r.kind);
        if items.contains(&(space.to_string(), name.to_string())) {
            self.end_of_reference(r.t, 2, r.whole)?;
            return Some(Expression::from(name));
        }
        let in_space = items.iter().filter(|(s, _)| s == space).map(|(_, n)| n.as_str());
        let help = hint(name, in_space, root).unwrap_or_else(|| {
            format!("Declare it: `{root} \"{name}\" {{ space = space.{space} }}`.")
        });
        self.error(
            span,
            format!("There is no {root} named `{name}` in space `{space}`."),
            Some(help),
        );
        None
    }

    /// `template.<name>`: found in exactly one space, or an error saying none or which.
    fn unqualified_child_ref(
        &mut self,
        r: &Reference<'_>,
        name: &str,
        span: Span,
    ) -> Option<Expression> {
        let root = r.root;
        let items = self.scope.index.children(r.kind);
        let spaces: Vec<&str> =
            items.iter().filter(|(_, n)| n == name).map(|(s, _)| s.as_str()).collect();
        match spaces.as_slice() {
            [_] => {
                self.end_of_reference(r.t, 1, r.whole)?;
                Some(Expression::from(name))
            }
            [] => {
                let help = if self.scope.index.is_space(name) {
                    Some(format!("`{name}` is a space: write `{root}.{name}.<name>`."))
                } else {
                    hint(name, items.iter().map(|(_, n)| n.as_str()), root)
                };
                self.error(
                    span,
                    format!("There is no {root} named `{name}`."),
                    Some(help.unwrap_or_else(|| {
                        format!("Declare it: `{root} \"{name}\" {{ space = space.<name> }}`.")
                    })),
                );
                None
            }
            many => {
                let list: Vec<String> = many.iter().map(|s| format!("`{s}`")).collect();
                self.error(
                    r.whole,
                    format!(
                        "The reference `{root}.{name}` is ambiguous: spaces {} each have a {root} named `{name}`.",
                        list.join(" and ")
                    ),
                    Some(format!("Name the space: `{root}.{}.{name}`.", many[0])),
                );
                None
            }
        }
    }

    /// A resource reference must end at the name: `space.ml`, not `space.ml.x` or `space.ml[0]`.
    fn end_of_reference(&mut self, t: &Traversal, used: usize, whole: Span) -> Option<()> {
        if t.operators.len() > used {
            self.error(
                whole,
                "A resource reference stands for the resource's name and ends there.".into(),
                Some("Remove what follows the name.".into()),
            );
            return None;
        }
        Some(())
    }
}

/// "Did you mean" help for a misspelt name of some kind.
fn hint<'a>(name: &str, candidates: impl Iterator<Item = &'a str>, kind: &str) -> Option<String> {
    let candidates: Vec<&str> = candidates.collect();
    did_you_mean(name, candidates.iter().copied())
        .map(|s| format!("Did you mean the {kind} `{s}`?"))
}

/// `name(expr, extra…)`: a call to one of the budget functions (see `budget`).
fn wrap(name: &'static str, expr: &mut Expression, extra: Vec<Expression>) {
    let taken = std::mem::replace(expr, Expression::null());
    let mut args = vec![taken];
    args.extend(extra);
    let name = FuncName::new(Ident::new_unchecked(name));
    *expr = FuncCall::new(name, FuncArgs::from(args)).into();
}

/// The literal text of a template, directives included: what one `for` iteration repeats at
/// least.
fn literal_bytes(t: &Template) -> u64 {
    struct Count(u64);
    impl hcl_edit::visit::Visit for Count {
        fn visit_element(&mut self, node: &Element) {
            if let Element::Literal(l) = node {
                self.0 += l.len() as u64;
            }
            hcl_edit::visit::visit_element(self, node);
        }
    }
    let mut c = Count(0);
    hcl_edit::visit::Visit::visit_template(&mut c, t);
    c.0
}

impl Refs<'_> {
    /// Entering a `for`: refuses nesting past the limit. `false` when refused.
    fn enter_for(&mut self, span: Option<std::ops::Range<usize>>) -> bool {
        self.for_depth += 1;
        if self.for_depth == budget::MAX_FOR_NESTING + 1 {
            let span = self.span(span);
            self.errors.push(
                Diagnostic::error(
                    "evaluation-budget",
                    format!(
                        "This `for` is nested inside {} others; at most {} may be nested.",
                        budget::MAX_FOR_NESTING,
                        budget::MAX_FOR_NESTING
                    ),
                )
                .at(span)
                .help(budget::HELP),
            );
            return false;
        }
        self.for_depth <= budget::MAX_FOR_NESTING
    }
}

impl VisitMut for Refs<'_> {
    fn visit_interpolation_mut(&mut self, node: &mut Interpolation) {
        self.visit_expr_mut(&mut node.expr);
        if self.for_depth > 0 {
            wrap("__budget", &mut node.expr, Vec::new());
        }
    }

    fn visit_expr_mut(&mut self, expr: &mut Expression) {
        if let Expression::FuncCall(call) = &*expr {
            if !call.name.name.as_str().starts_with("__") {
                visit_mut::visit_expr_mut(self, expr);
                wrap("__budget", expr, Vec::new());
                return;
            }
        }
        if let Expression::BinaryOp(op) = &*expr {
            if let Some(func) = arith_func(*op.operator.value()) {
                let taken = std::mem::replace(expr, Expression::null());
                if let Expression::BinaryOp(op) = taken {
                    let BinaryOp { mut lhs_expr, mut rhs_expr, .. } = *op;
                    self.visit_expr_mut(&mut lhs_expr);
                    self.visit_expr_mut(&mut rhs_expr);
                    let name = FuncName::new(Ident::new_unchecked(func));
                    *expr = FuncCall::new(name, FuncArgs::from(vec![lhs_expr, rhs_expr])).into();
                }
                return;
            }
        }
        let replacement = match &*expr {
            Expression::Variable(v) if !self.bound.iter().any(|b| b == v.as_str()) => {
                let span = self.span(v.span());
                let name = v.as_str().to_string();
                self.bare(&name, span);
                return;
            }
            Expression::Traversal(t) => match &t.expr {
                Expression::Variable(root) if !self.bound.iter().any(|b| b == root.as_str()) => {
                    let root = root.as_str().to_string();
                    Some(self.traversal(&root, t))
                }
                _ => None,
            },
            _ => None,
        };
        match replacement {
            Some(Some(literal)) => *expr = literal,
            Some(None) => {
                // A var/local reference (kept for hcl::eval) or an error: check index expressions.
                if let Expression::Traversal(t) = expr {
                    for op in t.operators.iter_mut() {
                        if let TraversalOperator::Index(e) = op.value_mut() {
                            self.visit_expr_mut(e);
                        }
                    }
                }
            }
            None => visit_mut::visit_expr_mut(self, expr),
        }
    }

    /// Keys written as expressions (`{ (var.k) = 1 }`) are checked and tainted like values.
    /// hcl-edit gives no mutable access to a key, so a clone is visited: what the key refers to
    /// counts, and a resource reference in a key is not rewritten (it never was).
    fn visit_object_key_mut(&mut self, node: ObjectKeyMut) {
        if let ObjectKey::Expression(e) = node.get() {
            let mut e = e.clone();
            self.visit_expr_mut(&mut e);
        }
    }

    fn visit_for_expr_mut(&mut self, node: &mut ForExpr) {
        self.visit_expr_mut(&mut node.intro.collection_expr);
        if !self.enter_for(node.span()) {
            self.for_depth -= 1;
            return;
        }
        wrap("__for", &mut node.intro.collection_expr, vec![Expression::from(0)]);
        let before = self.bound.len();
        if let Some(k) = &node.intro.key_var {
            self.bound.push(k.as_str().to_string());
        }
        self.bound.push(node.intro.value_var.as_str().to_string());
        if let Some(k) = &mut node.key_expr {
            self.visit_expr_mut(k);
            wrap("__budget", k, Vec::new());
        }
        self.visit_expr_mut(&mut node.value_expr);
        wrap("__budget", &mut node.value_expr, Vec::new());
        if let Some(c) = &mut node.cond {
            self.visit_expr_mut(&mut c.expr);
        }
        self.bound.truncate(before);
        self.for_depth -= 1;
    }

    fn visit_for_template_expr_mut(&mut self, node: &mut ForTemplateExpr) {
        self.visit_expr_mut(&mut node.collection_expr);
        if !self.enter_for(node.collection_expr.span()) {
            self.for_depth -= 1;
            return;
        }
        let per = Expression::from(literal_bytes(&node.template) as i64);
        wrap("__for", &mut node.collection_expr, vec![per]);
        let before = self.bound.len();
        if let Some(k) = &node.key_var {
            self.bound.push(k.as_str().to_string());
        }
        self.bound.push(node.value_var.as_str().to_string());
        self.visit_template_mut(&mut node.template);
        self.bound.truncate(before);
        self.for_depth -= 1;
    }
}

/// The checked function standing for an arithmetic operator (see `funcs::arith`).
fn arith_func(op: BinaryOperator) -> Option<&'static str> {
    match op {
        BinaryOperator::Plus => Some("__add"),
        BinaryOperator::Minus => Some("__sub"),
        BinaryOperator::Mul => Some("__mul"),
        BinaryOperator::Div => Some("__div"),
        BinaryOperator::Mod => Some("__mod"),
        _ => None,
    }
}

/// The names of locals an expression refers to, with spans (for ordering locals and cycles).
pub(crate) fn local_refs(expr: &Expression, file: FileId) -> Vec<(String, Span)> {
    struct Collect {
        file: FileId,
        out: Vec<(String, Span)>,
    }
    impl hcl_edit::visit::Visit for Collect {
        fn visit_traversal(&mut self, t: &Traversal) {
            if let Expression::Variable(root) = &t.expr {
                if root.as_str() == "local" {
                    if let Some(TraversalOperator::GetAttr(id)) =
                        t.operators.first().map(|o| o.value())
                    {
                        let span =
                            hcl_span(id.span(), self.file).unwrap_or(Span::file_start(self.file));
                        self.out.push((id.as_str().to_string(), span));
                    }
                }
            }
            hcl_edit::visit::visit_traversal(self, t);
        }
    }
    let mut c = Collect { file, out: Vec::new() };
    hcl_edit::visit::Visit::visit_expr(&mut c, expr);
    c.out
}
