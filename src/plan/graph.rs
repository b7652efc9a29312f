//! The apply graph, built from the changes alone in named steps: add nodes, add edges, order
//! deletes, check cycles. Each step is a pure function, tested on its own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::diff::Action;
use crate::model::{Address, Kind};

/// What one node of the apply graph does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Create,
    Update,
    /// The delete half of a replace, or a pruned resource.
    Delete,
    /// Start a Template pre-build and wait for it.
    Build,
    /// Wait for a build of the desired inputs that is already running.
    WaitBuild,
}

/// One node: an operation on one resource, after the nodes it depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub kind: StepKind,
    pub address: Address,
    /// Indexes into the plan's steps.
    pub depends_on: Vec<usize>,
}

/// Step 1: one node per operation. A replace is a delete then a create; a build follows its
/// Template. `builds` holds the Templates that get a Build or WaitBuild step.
pub fn add_nodes(changes: &[(Address, Action)], builds: &[(Address, StepKind)]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut push = |kind, address: &Address| {
        steps.push(Step { kind, address: address.clone(), depends_on: Vec::new() })
    };
    for (address, action) in changes {
        match action {
            Action::NoOp => {}
            Action::Create => push(StepKind::Create, address),
            Action::Update => push(StepKind::Update, address),
            Action::Delete => push(StepKind::Delete, address),
            Action::Replace => {
                push(StepKind::Delete, address);
                push(StepKind::Create, address);
            }
        }
    }
    for (address, kind) in builds {
        push(*kind, address);
    }
    steps
}

/// Step 2: creates and updates after the creates and updates of what they depend on; builds
/// after their Template's create/update; Workspaces after their Template's build; the create of
/// a replace after its delete.
pub fn add_edges(steps: &mut [Step], deps: &dyn Fn(&Address) -> Vec<Address>) {
    let mut writes: BTreeMap<&Address, Vec<usize>> = BTreeMap::new();
    let mut builds: BTreeMap<&Address, usize> = BTreeMap::new();
    let mut deletes: BTreeMap<&Address, usize> = BTreeMap::new();
    for (i, s) in steps.iter().enumerate() {
        match s.kind {
            StepKind::Create | StepKind::Update => writes.entry(&s.address).or_default().push(i),
            StepKind::Build | StepKind::WaitBuild => {
                builds.insert(&s.address, i);
            }
            StepKind::Delete => {
                deletes.insert(&s.address, i);
            }
        }
    }
    let mut edges: Vec<(usize, usize)> = Vec::new(); // (step, depends on)
    for (i, s) in steps.iter().enumerate() {
        match s.kind {
            StepKind::Create | StepKind::Update => {
                for d in deps(&s.address) {
                    edges.extend(writes.get(&d).into_iter().flatten().map(|&j| (i, j)));
                    if d.kind == Kind::Template && s.address.kind == Kind::Workspace {
                        edges.extend(builds.get(&d).map(|&j| (i, j)));
                    }
                }
                if let Some(&j) = deletes.get(&s.address) {
                    edges.push((i, j));
                }
            }
            StepKind::Build | StepKind::WaitBuild => {
                edges.extend(writes.get(&s.address).into_iter().flatten().map(|&j| (i, j)));
            }
            StepKind::Delete => {}
        }
    }
    add_unique(steps, edges);
}

/// Adds each `(step, depends on)` edge not already there, in order, with a set per step (a
/// `contains` on a Space delete's list of every child was quadratic).
fn add_unique(steps: &mut [Step], edges: Vec<(usize, usize)>) {
    let mut have: BTreeMap<usize, std::collections::BTreeSet<usize>> = BTreeMap::new();
    for (i, j) in edges {
        if i == j || i >= steps.len() {
            continue;
        }
        let set = have.entry(i).or_insert_with(|| steps[i].depends_on.iter().copied().collect());
        if set.insert(j) {
            steps[i].depends_on.push(j);
        }
    }
}

/// Step 2b: the replaces in `create_first` run their create first: their delete waits for the
/// create (which waits for the Template's build), instead of the other way round.
pub fn create_before_destroy(
    steps: &mut [Step],
    create_first: &std::collections::BTreeSet<Address>,
) {
    for address in create_first {
        let find = |kind| steps.iter().position(|s| s.kind == kind && &s.address == address);
        let (Some(create), Some(delete)) = (find(StepKind::Create), find(StepKind::Delete)) else {
            continue;
        };
        steps[create].depends_on.retain(|&d| d != delete);
        if !steps[delete].depends_on.contains(&create) {
            steps[delete].depends_on.push(create);
        }
    }
}

/// Step 3: deletes in reverse dependency order: a resource is deleted after everything being
/// deleted that depends on it (Workspaces before their Template, children before their Space).
pub fn order_deletes(steps: &mut [Step], deps: &dyn Fn(&Address) -> Vec<Address>) {
    // Every delete step of each address (an address is deleted once; a list keeps it exact).
    let mut deletes: BTreeMap<Address, Vec<usize>> = BTreeMap::new();
    for (i, s) in steps.iter().enumerate().filter(|(_, s)| s.kind == StepKind::Delete) {
        deletes.entry(s.address.clone()).or_default().push(i);
    }
    // For each deleted `other`: what it depends on (and its Space) is deleted after it. Looked
    // up by address, not by comparing every pair of deletes (quadratic in a large destroy).
    let mut edges: Vec<(usize, usize)> = Vec::new(); // (step, depends on)
    for (other, js) in &deletes {
        let mut before = deps(other);
        before.extend(other.space_address().filter(|s| s != other));
        before.sort();
        before.dedup();
        for address in before.iter().filter(|a| *a != other) {
            for &i in deletes.get(address).into_iter().flatten() {
                edges.extend(js.iter().map(|&j| (i, j)));
            }
        }
    }
    edges.sort_unstable();
    add_unique(steps, edges);
}

/// Step 3b: a pruned object of a kind other specs name by string (Groups, Policies:
/// [`Kind::named_by`]) is deleted after the updates and deletes of every object of those kinds,
/// since an update may be what stops naming it (a User leaving a Group the same apply deletes),
/// and a Group that named a Policy goes before the Policy. A
/// replace's delete is left alone (its create comes after it, and updates wait for the create).
pub fn deletes_after_dereferencing_updates(steps: &mut [Step]) {
    let created: std::collections::BTreeSet<&Address> =
        steps.iter().filter(|s| s.kind == StepKind::Create).map(|s| &s.address).collect();
    let mut edges: Vec<(usize, usize)> = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let kinds = s.address.kind.named_by();
        if s.kind != StepKind::Delete || kinds.is_empty() || created.contains(&s.address) {
            continue;
        }
        for (j, u) in steps.iter().enumerate() {
            let may_name = matches!(u.kind, StepKind::Update | StepKind::Delete) && i != j;
            if may_name && kinds.contains(&u.address.kind) {
                edges.push((i, j));
            }
        }
    }
    add_unique(steps, edges);
}

/// Step 4: a topological order, or the cycle (as addresses) when there is none.
pub fn check_cycles(steps: &[Step]) -> Result<Vec<usize>, Vec<Address>> {
    let n = steps.len();
    let mut indegree: Vec<usize> = steps.iter().map(|s| s.depends_on.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, s) in steps.iter().enumerate() {
        for &d in &s.depends_on {
            dependents[d].push(i);
        }
    }
    let mut ready: std::collections::VecDeque<usize> =
        (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_front() {
        order.push(i);
        for &j in &dependents[i] {
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push_back(j);
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Walk from any step left over along unfinished dependencies until a step repeats.
    let mut seen = Vec::new();
    let mut at = (0..n).find(|&i| indegree[i] > 0).unwrap_or(0);
    while !seen.contains(&at) {
        seen.push(at);
        at = steps[at].depends_on.iter().copied().find(|&d| indegree[d] > 0).unwrap_or(at);
    }
    let start = seen.iter().position(|&s| s == at).unwrap_or(0);
    let mut cycle: Vec<Address> = seen[start..].iter().map(|&i| steps[i].address.clone()).collect();
    cycle.push(steps[at].address.clone());
    Err(cycle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Address {
        s.parse().expect("address")
    }

    fn deps(x: &Address) -> Vec<Address> {
        match x.to_string().as_str() {
            "template.ml.gpu" => vec![a("space.ml")],
            "workspace.ml.box" => vec![a("space.ml"), a("template.ml.gpu")],
            _ => vec![],
        }
    }

    #[test]
    fn creates_follow_dependencies_and_workspaces_follow_builds() {
        let changes = vec![
            (a("workspace.ml.box"), Action::Create),
            (a("template.ml.gpu"), Action::Create),
            (a("space.ml"), Action::Create),
        ];
        let mut steps = add_nodes(&changes, &[(a("template.ml.gpu"), StepKind::Build)]);
        add_edges(&mut steps, &deps);
        let order = check_cycles(&steps).expect("acyclic");
        let names: Vec<String> =
            order.iter().map(|&i| format!("{:?} {}", steps[i].kind, steps[i].address)).collect();
        assert_eq!(
            names,
            [
                "Create space.ml",
                "Create template.ml.gpu",
                "Build template.ml.gpu",
                "Create workspace.ml.box"
            ]
        );
    }

    #[test]
    fn deletes_run_in_reverse_and_replace_deletes_first() {
        let changes = vec![
            (a("space.ml"), Action::Delete),
            (a("template.ml.gpu"), Action::Delete),
            (a("workspace.ml.box"), Action::Replace),
        ];
        let mut steps = add_nodes(&changes, &[]);
        add_edges(&mut steps, &deps);
        order_deletes(&mut steps, &deps);
        let order = check_cycles(&steps).expect("acyclic");
        let pos = |kind, addr: &str| {
            order
                .iter()
                .position(|&i| steps[i].kind == kind && steps[i].address == a(addr))
                .expect("present")
        };
        assert!(
            pos(StepKind::Delete, "workspace.ml.box") < pos(StepKind::Delete, "template.ml.gpu")
        );
        assert!(pos(StepKind::Delete, "template.ml.gpu") < pos(StepKind::Delete, "space.ml"));
        assert!(
            pos(StepKind::Delete, "workspace.ml.box") < pos(StepKind::Create, "workspace.ml.box")
        );
    }

    #[test]
    fn a_large_destroy_orders_every_child_before_its_space_once() {
        // 2,000 Templates and their Workspaces in one Space, all deleted (pairwise comparison
        // made this 16 million `deps` calls).
        let mut changes = vec![(a("space.ml"), Action::Delete)];
        for i in 0..2000 {
            changes.push((a(&format!("template.ml.t{i}")), Action::Delete));
            changes.push((a(&format!("workspace.ml.w{i}")), Action::Delete));
        }
        let deps = |x: &Address| match (x.kind, x.name.strip_prefix('w')) {
            (Kind::Workspace, Some(i)) => vec![a("space.ml"), a(&format!("template.ml.t{i}"))],
            _ => x.space_address().filter(|s| s != x).into_iter().collect(),
        };
        let mut steps = add_nodes(&changes, &[]);
        add_edges(&mut steps, &deps);
        order_deletes(&mut steps, &deps);
        order_deletes(&mut steps, &deps); // again: adds nothing twice
        let space = &steps[0];
        assert_eq!(space.depends_on.len(), 4000, "the Space goes after each child, once");
        for i in 0..2000 {
            let t = &steps[1 + 2 * i];
            assert_eq!(t.depends_on, vec![2 + 2 * i], "{} after its Workspace", t.address);
            assert!(steps[2 + 2 * i].depends_on.is_empty());
        }
        assert!(check_cycles(&steps).is_ok());
    }

    #[test]
    fn a_create_before_destroy_replace_deletes_after_its_create_and_build() {
        let changes = vec![(a("workspace.ml.box"), Action::Replace)];
        let mut steps = add_nodes(&changes, &[(a("template.ml.gpu"), StepKind::Build)]);
        add_edges(&mut steps, &deps);
        create_before_destroy(&mut steps, &[a("workspace.ml.box")].into_iter().collect());
        order_deletes(&mut steps, &deps);
        let order = check_cycles(&steps).expect("acyclic");
        let names: Vec<String> =
            order.iter().map(|&i| format!("{:?} {}", steps[i].kind, steps[i].address)).collect();
        assert_eq!(
            names,
            ["Build template.ml.gpu", "Create workspace.ml.box", "Delete workspace.ml.box"]
        );
    }

    #[test]
    fn a_pruned_group_is_deleted_after_the_user_updates_that_may_leave_it() {
        let changes = vec![
            (a("group.ops"), Action::Delete),
            (a("user.bot"), Action::Update),
            (a("group.kept"), Action::Replace),
            (a("space.ml"), Action::Update),
        ];
        let mut steps = add_nodes(&changes, &[]);
        add_edges(&mut steps, &|_| vec![]);
        order_deletes(&mut steps, &|_| vec![]);
        deletes_after_dereferencing_updates(&mut steps);
        let at = |k: StepKind, s: &str| {
            steps.iter().position(|x| x.kind == k && x.address == a(s)).expect("step")
        };
        let delete = &steps[at(StepKind::Delete, "group.ops")];
        assert_eq!(delete.depends_on, vec![at(StepKind::Update, "user.bot")]);
        assert!(steps[at(StepKind::Delete, "group.kept")].depends_on.is_empty(), "a replace");
        assert!(check_cycles(&steps).is_ok());
    }

    #[test]
    fn a_cycle_is_reported_with_its_path() {
        let mut steps =
            add_nodes(&[(a("space.x"), Action::Create), (a("space.y"), Action::Create)], &[]);
        steps[0].depends_on.push(1);
        steps[1].depends_on.push(0);
        let cycle = check_cycles(&steps).expect_err("cycle");
        assert_eq!(cycle.len(), 3);
        assert_eq!(cycle.first(), cycle.last());
    }
}
