//! Reading the live state a plan needs: one paginated List per kind per Space as needed, never
//! one Get per resource. Users and Spaces are listed once; Templates and Secrets once per Space
//! that is declared or carries our stack label; Workspaces once (a Workspace list is only ever
//! the caller's own). Only objects that can concern this config are returned: those whose stored
//! name is a declared resource's, those labelled with this stack, and the Workspaces of our
//! Spaces (matched by displayName later). Decides nothing.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::convert::{self, LiveResource, Naming};
use super::{Cluster, LiveError, Scope};
use crate::model::{Kind, Model};

/// Everything read, and how many calls it took.
#[derive(Debug, Clone, Default)]
pub struct LiveState {
    pub objects: Vec<LiveResource>,
    pub calls: u64,
}

/// How many per-Space lists run at once.
const CONCURRENCY: usize = 16;

/// Reads the objects that concern `model` (declared, or labelled with `stack`).
pub async fn read(
    cluster: &Arc<dyn Cluster>,
    model: &Model,
    naming: &Naming,
    stack: &str,
) -> Result<LiveState, LiveError> {
    let before = cluster.calls();
    let declared: BTreeSet<String> =
        model.resources.iter().filter_map(|r| naming.stored_name(&r.address)).collect();
    let ours = |l: &LiveResource| {
        !l.system
            && (declared.contains(&l.wire_name) || (!stack.is_empty() && l.stack() == Some(stack)))
    };

    let (users, spaces) = tokio::try_join!(
        cluster.list(Kind::User, &Scope::All),
        cluster.list(Kind::Space, &Scope::All)
    )?;
    let mut objects: Vec<LiveResource> =
        users.iter().map(convert::from_wire).filter(|l| ours(l)).collect();
    let spaces: Vec<LiveResource> =
        spaces.iter().map(convert::from_wire).filter(|l| ours(l)).collect();
    let space_names: Vec<String> = spaces.iter().map(|s| s.wire_name.clone()).collect();
    objects.extend(spaces);

    // Templates and Secrets, per Space, a few Spaces at a time.
    let mut children = Vec::new();
    for chunk in space_names.chunks(CONCURRENCY) {
        let lists = chunk.iter().flat_map(|space| {
            [Kind::Template, Kind::Secret].map(|kind| {
                let cluster = cluster.clone();
                let scope = Scope::Space(space.clone());
                async move { cluster.list(kind, &scope).await }
            })
        });
        for items in futures_join_all(lists).await {
            children.extend(items?);
        }
    }
    objects.extend(children.iter().map(convert::from_wire).filter(|l| ours(l)));

    // Workspaces: every one of the caller's in our Spaces.
    let our_spaces: BTreeSet<&String> = space_names.iter().collect();
    let workspaces = cluster.list(Kind::Workspace, &Scope::All).await?;
    objects.extend(
        workspaces
            .iter()
            .map(convert::from_wire)
            .filter(|w| !w.system && w.space.as_ref().is_some_and(|s| our_spaces.contains(s))),
    );
    objects.sort_by(|a, b| a.address.cmp(&b.address).then_with(|| a.wire_name.cmp(&b.wire_name)));
    Ok(LiveState { objects, calls: cluster.calls().saturating_sub(before) })
}

/// Runs the lists concurrently and returns their results in order.
async fn futures_join_all<F>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<Result<Vec<super::Object>, LiveError>>
where
    F: std::future::Future<Output = Result<Vec<super::Object>, LiveError>> + Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap_or_else(|e| {
            Err(LiveError::new(super::ErrorCode::Other, "list", format!("list task ended: {e}")))
        }));
    }
    out
}
