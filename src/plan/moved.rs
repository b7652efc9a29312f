//! `moved` blocks in the plan: the live object at a move's old address is the declared
//! resource at its new one, so the plan updates it ("has moved to") instead of destroying it and
//! creating another. Only Workspaces get here (`model::moves` refuses the kinds the server
//! cannot rename); their rename is an update of `displayName`. Pure.

use serde_json::Value;

use crate::diff::{Action, Diff, FieldChange, LiveDoc};
use crate::model::moves::Move;
use crate::model::Address;

/// One move the live state allows: (new address, old address).
pub type Moved = (Address, Address);

/// Gives the live object at each move's `from` the address `to`, when there is exactly one such
/// object, it is this stack's, and nothing is at `to` yet (otherwise the move has already been
/// made, or never can be, and the block does nothing, as Terraform's does). Returns the moves
/// made.
pub fn relabel(moves: &[Move], live: &mut [LiveDoc], stack: &str) -> Vec<Moved> {
    let mut out = Vec::new();
    for m in moves {
        let at = |a: &Address, live: &[LiveDoc]| {
            live.iter().filter(|l| &l.address == a && !l.retiring).count()
        };
        if at(&m.from, live) != 1 || at(&m.to, live) != 0 {
            continue;
        }
        let Some(l) = live.iter_mut().find(|l| l.address == m.from && !l.retiring) else {
            continue;
        };
        if l.stack.as_deref() != Some(stack) {
            continue;
        }
        l.address = m.to.clone();
        out.push((m.to.clone(), m.from.clone()));
    }
    out
}

/// Makes each moved resource's change say so: a no-op becomes an update of its display name,
/// an update or a replace says where it moved from.
pub fn mark(diff: &mut Diff, moved: &[Moved]) {
    for (to, from) in moved {
        let Some(c) = diff.changes.iter_mut().find(|c| &c.address == to) else { continue };
        let rename = FieldChange {
            path: "metadata.displayName".into(),
            old: Some(Value::String(from.name.clone())),
            new: Some(Value::String(to.name.clone())),
        };
        match c.action {
            Action::NoOp => {
                c.action = Action::Update;
                c.reason = format!("renamed in place from {from}");
                c.fields.insert(0, rename);
            }
            Action::Update => {
                c.reason = format!("renamed in place from {from}; {}", c.reason);
                c.fields.insert(0, rename);
            }
            // The old object goes (by uid) and a new one is created at the new address.
            Action::Replace => c.reason = format!("moved from {from}; {}", c.reason),
            Action::Create | Action::Delete => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{FileId, Span};
    use crate::model::Kind;

    fn live(name: &str, stack: Option<&str>) -> LiveDoc {
        LiveDoc {
            address: Address::in_space(Kind::Workspace, "ml", name),
            wire_name: format!("ws-{name}"),
            uid: format!("uid-{name}"),
            resource_version: "1".into(),
            doc: serde_json::json!({"spec": {}, "template": "default"}).into(),
            stack: stack.map(str::to_string),
            retiring: false,
            applied: None,
        }
    }

    fn mv(from: &str, to: &str) -> Move {
        Move {
            from: Address::in_space(Kind::Workspace, "ml", from),
            to: Address::in_space(Kind::Workspace, "ml", to),
            span: Span::file_start(FileId(0)),
        }
    }

    #[test]
    fn only_one_object_of_this_stack_at_from_with_nothing_at_to_moves() {
        let mut docs = vec![live("old", Some("s"))];
        assert_eq!(relabel(&[mv("old", "new")], &mut docs, "s").len(), 1);
        assert_eq!(docs[0].address.name, "new");
        // Already moved: nothing at `from`.
        assert!(relabel(&[mv("old", "new")], &mut docs, "s").is_empty());
        // Something at `to` already: the block does nothing.
        let mut docs = vec![live("old", Some("s")), live("new", Some("s"))];
        assert!(relabel(&[mv("old", "new")], &mut docs, "s").is_empty());
        // Not this stack's: never taken over.
        let mut docs = vec![live("old", None)];
        assert!(relabel(&[mv("old", "new")], &mut docs, "s").is_empty());
        assert_eq!(docs[0].address.name, "old");
    }
}
