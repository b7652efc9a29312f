//! Importing existing objects into a stack: the config's `import` blocks (read by `config` and
//! `model`), and `cordium import ADDRESS ID`, which is `apply --target ADDRESS` with one more
//! import. Diff adopts the object (the plan says "will be imported", with the difference
//! between the live object and the config); apply labels it as the stack's and makes it match
//! (a Workspace, which keeps no labels, is recorded in its Space's ownership record).

use crate::diag::Diagnostic;
use crate::model::{Address, Import, Model};

/// Adds the command line's imports to the model's: each to a declared resource, and not one the
/// config already imports.
pub fn add(model: &mut Model, imports: &[(Address, String)]) -> Result<(), Vec<Diagnostic>> {
    let mut problems = Vec::new();
    for (to, id) in imports {
        if model.get(to).is_none() {
            let known = model.resources.iter().map(|r| r.address.to_string()).collect::<Vec<_>>();
            let d = Diagnostic::error(
                "unknown-address",
                format!("cordium import {to}: the configuration declares no such resource"),
            )
            .address(to.to_string());
            problems.push(
                match crate::diag::did_you_mean(&to.to_string(), known.iter().map(String::as_str)) {
                    Some(near) => d.help(format!("did you mean {near}?")),
                    None => d.help(
                        "declare the resource first (as the object should be), then import the \
                         object to its address",
                    ),
                },
            );
            continue;
        }
        if id.is_empty() {
            problems.push(
                Diagnostic::error("import", format!("cordium import {to}: the id is empty"))
                    .help("give the live object's name, e.g. `gpu.ml`"),
            );
            continue;
        }
        match model.imports.iter().find(|i| &i.to == to) {
            Some(i) if &i.id == id => {}
            Some(i) => problems.push(
                Diagnostic::error(
                    "duplicate-import",
                    format!("{to} is imported from `{}` in the configuration, not `{id}`", i.id),
                )
                .at_opt(i.id_span),
            ),
            None => model.imports.push(Import {
                to: to.clone(),
                id: id.clone(),
                to_span: None,
                id_span: None,
            }),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
