//! The dependency graph as DOT (`cordium graph`): an edge `a -> b` means a needs b first.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::model::Address;

/// DOT text for `edges` (each node with the nodes it depends on), in address order.
pub fn graph(edges: &BTreeMap<Address, Vec<Address>>) -> String {
    let mut dot = String::from("digraph cordium {\n  rankdir = \"RL\";\n  node [shape = box];\n");
    for (node, deps) in edges {
        let _ = writeln!(dot, "  \"{node}\";");
        for d in deps {
            let _ = writeln!(dot, "  \"{node}\" -> \"{d}\";");
        }
    }
    dot.push_str("}\n");
    dot
}
