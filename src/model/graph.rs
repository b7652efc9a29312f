//! The dependency graph of a model: which resources must exist before which.
//!
//! A Template, Secret or Workspace depends on its Space; a Workspace on its Template; a Template
//! or Workspace on the declared Secrets it references through `fromSecret` (a GitProvider on its
//! client secret's), on the GitProvider it names (`gitProvider`) and on the Volumes it mounts
//! (`volumeMounts[].volumeRef`); a Membership on its User; a User on the Groups it is in and the
//! Policies it names (`authorization.policies`), a Group on the Policies it names
//! ([`core_refs`]), so Policies are created before Groups and Groups before Users, and deleted in
//! reverse. Spaces depend on nothing (a Space's runtime may name its own Secrets, resolved when a
//! Workspace starts, so that is not an edge). Also generic helpers plan uses: a cycle finder that reports
//! the path, and a deterministic topological order. Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::tree::{Node, Value};

use super::{Address, Body, Kind, Model, Resource};

/// Every `fromSecret` string under `spec` of a document, with its node (for spans).
pub fn secret_refs(doc: &Node) -> Vec<&Node> {
    fn walk<'a>(node: &'a Node, out: &mut Vec<&'a Node>) {
        match &node.value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    if k.name == "fromSecret" && matches!(v.value, Value::String(_)) {
                        out.push(v);
                    } else {
                        walk(v, out);
                    }
                }
            }
            Value::List(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(spec) = doc.get("spec") {
        walk(spec, &mut out);
    }
    out
}

/// Every name of another resource a document gives (its `fromSecret`s, its `gitProvider`, its
/// Volumes), in that order, for [`super::Origin::refs`].
pub fn doc_refs(doc: &Node) -> Vec<super::Ref> {
    let mut out = Vec::new();
    let mut add = |kind: Kind, node: &Node| {
        if let Some(name) = node.as_str() {
            out.push(super::Ref { kind, name: name.to_string(), span: node.span });
        }
    };
    secret_refs(doc).into_iter().for_each(|n| add(Kind::Secret, n));
    git_provider_ref(doc).into_iter().for_each(|n| add(Kind::GitProvider, n));
    volume_refs(doc).into_iter().for_each(|n| add(Kind::Volume, n));
    out
}

/// One name a User or Group gives of a Group or Policy the server must have: the kind, the
/// name, and the document path it is written at (`spec.groups[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreRef {
    pub kind: Kind,
    pub name: String,
    pub path: String,
}

/// Every Group and Policy a User or Group names (upstream refuses a User whose Groups or
/// Policies do not exist, and a Group whose Policies do not: octelium
/// `cluster/apiserver/apiserver/admin/user.go` `checkAndSetUser`, `policy.go`
/// `validatePolicyOwner`). Empty names are left to validation.
pub fn core_refs(r: &Resource) -> Vec<CoreRef> {
    let mut out = Vec::new();
    let mut policies = |auth: Option<&super::spec::Authorization>| {
        for (i, p) in auth.map(|a| a.policies.as_slice()).unwrap_or_default().iter().enumerate() {
            let path = format!("spec.authorization.policies[{i}]");
            out.push(CoreRef { kind: Kind::Policy, name: p.clone(), path });
        }
    };
    match &r.body {
        Body::User { spec } => {
            policies(spec.authorization.as_deref());
            for (i, g) in spec.groups.iter().enumerate() {
                let path = format!("spec.groups[{i}]");
                out.push(CoreRef { kind: Kind::Group, name: g.clone(), path });
            }
        }
        Body::Group { spec } => policies(spec.authorization.as_ref()),
        _ => {}
    }
    out.retain(|c| !c.name.is_empty());
    out
}

/// A Template's `spec.gitProvider` (a GitProvider of its Space), if set.
pub fn git_provider_ref(doc: &Node) -> Option<&Node> {
    doc.get("spec")?.get("gitProvider").filter(|n| n.as_str().is_some_and(|s| !s.is_empty()))
}

/// Every `spec.runtime.volumeMounts[].volumeRef.name` of a Template or Workspace document.
pub fn volume_refs(doc: &Node) -> Vec<&Node> {
    let Some(Value::List(mounts)) = doc
        .get("spec")
        .and_then(|s| s.get("runtime"))
        .and_then(|r| r.get("volumeMounts"))
        .map(|m| &m.value)
    else {
        return Vec::new();
    };
    mounts
        .iter()
        .filter_map(|m| m.get("volumeRef")?.get("name"))
        .filter(|n| n.as_str().is_some_and(|s| !s.is_empty()))
        .collect()
}

/// A reference's config name: its first segment (`data` of `data.ml.cordium`).
pub fn short(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// The resources `r` depends on, among those `model` declares, in address order.
fn dependencies(r: &Resource, model: &Model) -> Vec<Address> {
    candidates(r).into_iter().filter(|a| *a != r.address && model.get(a).is_some()).collect()
}

/// A cycle of dependencies in `model`, as [`find_cycle`] of its [`edges`] finds it, without
/// copying the model's addresses (validate checks every config for one).
pub fn cycle(model: &Model) -> Option<Vec<Address>> {
    let edges: BTreeMap<&Address, Vec<&Address>> = model
        .resources
        .iter()
        .map(|r| {
            let deps = candidates(r)
                .into_iter()
                .filter(|a| *a != r.address)
                .filter_map(|a| model.get(&a).map(|d| &d.address))
                .collect();
            (&r.address, deps)
        })
        .collect();
    find_cycle(&edges).map(|c| c.into_iter().cloned().collect())
}

/// Every resource `r` names or lives in, declared or not, in address order.
fn candidates(r: &Resource) -> BTreeSet<Address> {
    let mut deps = BTreeSet::new();
    if r.kind().in_space() {
        if let Some(space) = r.address.space_address() {
            deps.insert(space);
        }
    }
    if let (Body::Workspace { template: Some(t), .. }, Some(space)) = (&r.body, &r.address.space) {
        deps.insert(Address::in_space(Kind::Template, space.clone(), t.clone()));
    }
    if matches!(r.kind(), Kind::Template | Kind::Workspace | Kind::GitProvider) {
        if let Some(space) = &r.address.space {
            for s in r.origin.secret_refs() {
                deps.insert(Address::in_space(Kind::Secret, space.clone(), s.name.as_str()));
            }
        }
    }
    for c in core_refs(r) {
        deps.insert(Address { kind: c.kind, space: None, name: c.name });
    }
    if let Some(space) = &r.address.space {
        if let Some(g) = r.origin.git_provider_ref() {
            deps.insert(Address::in_space(Kind::GitProvider, space.clone(), g.name.as_str()));
        }
        for v in r.origin.volume_refs() {
            deps.insert(Address::in_space(Kind::Volume, space.clone(), short(&v.name)));
        }
    }
    if r.kind() == Kind::Membership {
        deps.insert(Address::user(r.address.name.clone()));
    }
    deps
}

/// [`edges`] without copying the model's addresses as keys, and without the resources that
/// depend on nothing (a plan looks up each of its changes; most Users have none).
pub fn edges_by_ref(model: &Model) -> BTreeMap<&Address, Vec<Address>> {
    model
        .resources
        .iter()
        .filter_map(|r| {
            let deps = dependencies(r, model);
            (!deps.is_empty()).then_some((&r.address, deps))
        })
        .collect()
}

/// Dependency edges of a whole model: address → the addresses it depends on.
pub fn edges(model: &Model) -> BTreeMap<Address, Vec<Address>> {
    model.resources.iter().map(|r| (r.address.clone(), dependencies(r, model))).collect()
}

/// A cycle in `edges`, as a path whose last step returns to the first, if there is one.
pub fn find_cycle<N: Ord + Clone>(edges: &BTreeMap<N, Vec<N>>) -> Option<Vec<N>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    let mut marks: BTreeMap<&N, Mark> = BTreeMap::new();
    for start in edges.keys() {
        if marks.contains_key(start) {
            continue;
        }
        // Iterative DFS: (node, index of next edge to follow).
        let mut stack: Vec<(&N, usize)> = vec![(start, 0)];
        marks.insert(start, Mark::Open);
        while let Some((node, i)) = stack.last().copied() {
            let next = edges.get(node).and_then(|e| e.get(i));
            if let Some(last) = stack.last_mut() {
                last.1 += 1;
            }
            match next {
                None => {
                    marks.insert(node, Mark::Done);
                    stack.pop();
                }
                Some(n) => match marks.get(n) {
                    Some(Mark::Done) => {}
                    Some(Mark::Open) => {
                        let from = stack.iter().position(|(s, _)| *s == n).unwrap_or(0);
                        let mut cycle: Vec<N> =
                            stack[from..].iter().map(|(s, _)| (*s).clone()).collect();
                        cycle.push(n.clone());
                        return Some(cycle);
                    }
                    None => {
                        marks.insert(n, Mark::Open);
                        stack.push((n, 0));
                    }
                },
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(pairs: &[(&'static str, &[&'static str])]) -> BTreeMap<&'static str, Vec<&'static str>> {
        pairs.iter().map(|(n, d)| (*n, d.to_vec())).collect()
    }

    #[test]
    fn resources_depend_on_their_space_template_and_secrets() {
        let text = "kind: Space\nmetadata: {name: ml.cordium}\nspec: {runtime: {envVars: [{key: K, fromSecret: kk}]}}\n---\nkind: Secret\nmetadata: {name: kk.ml}\nfromEnv: K\n---\nkind: Template\nmetadata: {name: gpu.ml}\nspec: {runtime: {envVars: [{key: K, fromSecret: kk}]}}\n---\nkind: Workspace\nmetadata: {name: box.ml}\ntemplate: gpu\n";
        let mut loaded = crate::config::Loaded::default();
        let text: std::sync::Arc<str> = text.into();
        let file = loaded.sources.add("t.yaml", text.clone());
        let docs = crate::config::yaml_docs(file, &text, &mut loaded.diagnostics);
        loaded.docs.extend(docs);
        let (model, diags) = crate::model::build(&loaded);
        assert!(diags.is_empty(), "{diags:?}");
        let e = edges(&model);
        let deps = |a: &str| -> Vec<String> {
            let a: Address = a.parse().expect("address");
            let mut d: Vec<String> = e[&a].iter().map(ToString::to_string).collect();
            d.sort();
            d
        };
        assert!(deps("space.ml").is_empty(), "the Space's own secret ref names a child");
        assert_eq!(deps("secret.ml.kk"), ["space.ml"]);
        assert_eq!(deps("template.ml.gpu"), ["secret.ml.kk", "space.ml"]);
        assert_eq!(deps("workspace.ml.box"), ["space.ml", "template.ml.gpu"]);
    }

    #[test]
    fn users_depend_on_their_groups_and_policies_and_groups_on_theirs() {
        let model = crate::model::testing::yaml(
            "kind: Policy\nmetadata: {name: read}\n---\nkind: Group\nmetadata: {name: ops}\nspec: {authorization: {policies: [read, allow-all]}}\n---\nkind: User\nmetadata: {name: bot}\nspec: {type: WORKLOAD, groups: [ops, elsewhere], authorization: {policies: [read]}}\n",
        );
        let e = edges(&model);
        let deps = |a: &str| -> Vec<String> {
            let a: Address = a.parse().expect("address");
            e[&a].iter().map(ToString::to_string).collect()
        };
        // Only declared names are edges; the others are checked at plan.
        assert_eq!(deps("user.bot"), ["policy.read", "group.ops"]);
        assert_eq!(deps("group.ops"), ["policy.read"]);
        assert!(deps("policy.read").is_empty());
        let refs = core_refs(model.get(&"user.bot".parse().expect("address")).expect("user"));
        let paths: Vec<&str> = refs.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["spec.authorization.policies[0]", "spec.groups[0]", "spec.groups[1]"]);
    }

    #[test]
    fn cycles_are_reported_as_paths() {
        let e = g(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &[])]);
        assert_eq!(find_cycle(&e), Some(vec!["a", "b", "c", "a"]));
        assert_eq!(find_cycle(&g(&[("a", &["a"])])), Some(vec!["a", "a"]));
    }
}
