//! The local cluster's SQLite store: every object as its prost-encoded wire message plus the
//! indexed columns queries need (kind, name, uid, parent space, owner, template, displayName,
//! resourceVersion, creation time), so a List is one paginated query. A kind's sensitive part
//! (a Secret's data) is never in the body: it is kept sealed (`seal.rs`) in its own table, and
//! freed pages are zeroed (`secure_delete`). Space Memberships are objects like any other
//! (kind `Membership`, its Space and User indexed, the role as its subtype): the roles every
//! permission check reads are the objects ListMembership returns. The `memberships` table of
//! older stores is only read once, to move its rows into objects. Knows nothing of server rules; the engine runs every
//! operation in one transaction over these functions.

use std::path::Path;

use prost::Message;
use rusqlite::{params, Connection, OptionalExtension};

use super::error::ApiResult;
use super::seal;
use crate::live::wire::{cordium, core, meta};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS objects (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT    NOT NULL,
    uid              TEXT    NOT NULL UNIQUE,
    name             TEXT    NOT NULL,
    space_uid        TEXT    NOT NULL DEFAULT '',
    owner_uid        TEXT    NOT NULL DEFAULT '',
    template_uid     TEXT    NOT NULL DEFAULT '',
    display_name     TEXT    NOT NULL DEFAULT '',
    subtype          TEXT    NOT NULL DEFAULT '',
    resource_version TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    body             BLOB    NOT NULL,
    UNIQUE (kind, name)
);
-- Every object of a kind in insertion order (a List's default order: `kind = ? ORDER BY seq`).
-- Without it SQLite answers that through another `(kind, …)` index and sorts every object of
-- the kind for each page: paging through 30,000 Users sorted them all 30 times.
CREATE INDEX IF NOT EXISTS objects_kind ON objects (kind);
-- The four filter columns are indexed only where set (partial indexes): most objects leave
-- some empty (a User has no Space, owner or Template; only Workspaces name a Template), and an
-- entry under '' is never looked up, so each create wrote index pages no query read. A query
-- uses one of these only with the index's own `<column> != ''` term among its conditions
-- (`where_clause`). Stores made before kept full indexes under the old names: dropped here.
DROP INDEX IF EXISTS objects_space;
DROP INDEX IF EXISTS objects_owner;
DROP INDEX IF EXISTS objects_template;
DROP INDEX IF EXISTS objects_subtype;
CREATE INDEX IF NOT EXISTS objects_space_set ON objects (kind, space_uid) WHERE space_uid != '';
CREATE INDEX IF NOT EXISTS objects_owner_set ON objects (kind, owner_uid) WHERE owner_uid != '';
CREATE INDEX IF NOT EXISTS objects_template_set ON objects (kind, template_uid)
    WHERE template_uid != '';
-- A User's email (CreateUser's uniqueness check), a Membership's role: without it, each
-- CreateUser with an email read every User.
CREATE INDEX IF NOT EXISTS objects_subtype_set ON objects (kind, subtype) WHERE subtype != '';
-- A Membership by its Space and User (the role every permission check reads, `MEMBERSHIP_ROLE`):
-- through either column's index alone, SQLite read every Membership of the caller, who is a
-- member of each Space they made, so each check in a store of many Spaces read thousands.
CREATE INDEX IF NOT EXISTS objects_membership ON objects (space_uid, owner_uid)
    WHERE kind = 'Membership';
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sealed (uid TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS memberships (
    space_uid TEXT    NOT NULL,
    user_uid  TEXT    NOT NULL,
    role      INTEGER NOT NULL,
    PRIMARY KEY (space_uid, user_uid)
);
CREATE INDEX IF NOT EXISTS memberships_user ON memberships (user_uid);
";

/// The files SQLite keeps beside the store at `path` (`-wal`, `-shm`).
fn companions(path: &Path) -> [std::path::PathBuf; 2] {
    ["-wal", "-shm"].map(|suffix| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        std::path::PathBuf::from(p)
    })
}

/// Opens (creating if needed) the store at `path`, readable by its owner only: the file is
/// created 0600 before SQLite opens it (SQLite gives `-wal` and `-shm` the mode of the store),
/// and existing ones are restricted to 0600.
pub fn open(path: &Path) -> ApiResult<Connection> {
    drop(seal::private_file(path, false)?);
    for p in companions(path) {
        seal::restrict(&p)?;
    }
    let conn = Connection::open(path)?;
    // First, so that every statement after it (switching to WAL and creating the schema take
    // the write lock too) waits for another process's transaction instead of failing with
    // "database is locked".
    conn.busy_timeout(OPEN_TIMEOUT)?;
    // SQLite answers some of these at once with BUSY, without its busy handler (switching a new
    // file to WAL while another process does the same): the setup is retried until the timeout.
    let deadline = std::time::Instant::now() + OPEN_TIMEOUT;
    loop {
        match setup(&conn) {
            Ok(()) => return Ok(conn),
            Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// How long opening a store waits for other processes using it.
const OPEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The connection's settings and the schema.
fn setup(conn: &Connection) -> rusqlite::Result<()> {
    // Deleted rows are overwritten with zeros, not left in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Up to 32 MiB of pages in memory (SQLite's default is 2 MiB): the uid index is keyed by
    // random UUIDs, so with a small cache every insert into a large store re-read index pages
    // from the file.
    conn.pragma_update(None, "cache_size", "-32768")?;
    // Savepoint sub-journals (each operation in a shared transaction runs under a savepoint,
    // `Engine::tx`) kept in memory: with SQLite's default they spill past 64 KiB into an
    // unnamed file in `/var/tmp` that is not truncated until the transaction ends, so every
    // operation wrote the original of each page it touched there (strace, 10,000 creates:
    // 40,644 of the 122,583 `pwrite`s, beside opening a temp file per transaction). In memory,
    // each savepoint's journal is dropped when it is released, and no page image of the store
    // (sealed Secrets included) is written outside it.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // The WAL is copied into the store every 10,000 pages (about 40 MiB; SQLite's default is
    // 1,000): a page written by many transactions (the last leaf of a table or an index in
    // insertion order) is copied once per checkpoint, so fewer checkpoints copy fewer pages
    // (strace, 50,000 creates with the default: 55,000 pages copied, one per create). The WAL is
    // removed when the store is closed; Secrets' deleted pages are checkpointed out of it at
    // once (`Engine::forget_deleted`).
    conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
    statements(conn)?;
    conn.execute_batch(SCHEMA)
}

/// How the connection prepares statements: each is kept (`STATEMENT_CACHE`) and planned once,
/// whatever values are bound to it. The query planner stability guarantee (QPSG) stops SQLite
/// from planning with the bound values: with it off, SQLite 3.54 marks a statement with an
/// ORDER BY (every List) as worth planning again when its values change, and rusqlite clears a
/// statement's values when it returns to the cache, so each List filtered by a new value (a
/// CreateUser's email check among them) was parsed and planned again (`StatementStatus::
/// RePrepare`, 6% of the in-process cluster's thread at 50,000 creates). No plan here depends
/// on a value: each partial index is chosen by its own literal term (`where_clause`), which the
/// test of the plans checks with QPSG on.
fn statements(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Prepared statements kept per connection: every statement here is prepared once, not parsed
/// again for each operation (Lists with their filters and orders make a few dozen).
const STATEMENT_CACHE: usize = 64;

/// SQLITE_BUSY or SQLITE_LOCKED: another connection holds the lock.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// An in-memory store (unit tests, `serve --in-memory`).
pub fn open_in_memory() -> ApiResult<Connection> {
    let conn = Connection::open_in_memory()?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    statements(&conn)?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

/// The indexed columns of one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    pub space_uid: String,
    pub owner_uid: String,
    pub template_uid: String,
    /// Kind-specific: a Space's type (`user`, `organization`), a User's email.
    pub subtype: String,
}

/// A wire message the store can hold.
pub trait Stored: Message + Default + Clone + PartialEq {
    /// The API `kind` string, also the store's kind column.
    const KIND: &'static str;
    /// The API `apiVersion`.
    const API_VERSION: &'static str;
    fn meta(&self) -> Option<&meta::Metadata>;
    fn meta_mut(&mut self) -> &mut meta::Metadata;
    fn index(&self) -> Index;
    fn set_envelope(&mut self);
    /// Takes the part that is stored sealed, not in the body, as encoded bytes (a Secret's
    /// data); `None` for kinds without one.
    fn take_sensitive(&mut self) -> Option<Vec<u8>> {
        None
    }
}

fn r(o: &Option<meta::ObjectReference>) -> String {
    o.as_ref().map(|r| r.uid.clone()).unwrap_or_default()
}

macro_rules! stored {
    ($ty:ty, $kind:literal, $api:literal, |$o:ident| $index:expr) => {
        stored!($ty, $kind, $api, |$o| $index, sensitive | _s | None);
    };
    ($ty:ty, $kind:literal, $api:literal, |$o:ident| $index:expr,
        sensitive |$s:ident| $take:expr) => {
        impl Stored for $ty {
            const KIND: &'static str = $kind;
            const API_VERSION: &'static str = $api;
            fn meta(&self) -> Option<&meta::Metadata> {
                self.metadata.as_ref()
            }
            fn meta_mut(&mut self) -> &mut meta::Metadata {
                self.metadata.get_or_insert_with(Default::default)
            }
            fn index(&self) -> Index {
                let $o = self;
                $index
            }
            fn set_envelope(&mut self) {
                self.api_version = $api.to_string();
                self.kind = $kind.to_string();
            }
            fn take_sensitive(&mut self) -> Option<Vec<u8>> {
                let $s = self;
                $take
            }
        }
    };
}

stored!(cordium::Space, "Space", "cordium/v1", |o| Index {
    owner_uid: o.status.as_ref().map(|s| r(&s.user_ref)).unwrap_or_default(),
    subtype: o
        .status
        .as_ref()
        .map(|s| match s.r#type() {
            cordium::space::status::Type::User => "user",
            cordium::space::status::Type::Organization => "organization",
            cordium::space::status::Type::SpaceTypeUnset => "",
        })
        .unwrap_or_default()
        .to_string(),
    ..Default::default()
});
stored!(cordium::Template, "Template", "cordium/v1", |o| Index {
    space_uid: o.status.as_ref().map(|s| r(&s.space_ref)).unwrap_or_default(),
    owner_uid: o.status.as_ref().map(|s| r(&s.user_ref)).unwrap_or_default(),
    ..Default::default()
});
stored!(cordium::Workspace, "Workspace", "cordium/v1", |o| Index {
    space_uid: o.status.as_ref().map(|s| r(&s.space_ref)).unwrap_or_default(),
    owner_uid: o.status.as_ref().map(|s| r(&s.user_ref)).unwrap_or_default(),
    template_uid: o.status.as_ref().map(|s| r(&s.template_ref)).unwrap_or_default(),
    ..Default::default()
});
stored!(
    cordium::Secret,
    "Secret",
    "cordium/v1",
    |o| Index {
        space_uid: o.status.as_ref().map(|s| r(&s.space_ref)).unwrap_or_default(),
        owner_uid: o.status.as_ref().map(|s| r(&s.user_ref)).unwrap_or_default(),
        ..Default::default()
    },
    sensitive | s | s.data.take().map(|d| d.encode_to_vec())
);
stored!(core::User, "User", "core/v1", |o| Index {
    // A User's email, for the uniqueness check of CreateUser/UpdateUser.
    subtype: o.spec.as_ref().map(|s| s.email.clone()).unwrap_or_default(),
    ..Default::default()
});
stored!(core::Group, "Group", "core/v1", |_o| Index::default());
stored!(cordium::Membership, "Membership", "cordium/v1", |o| Index {
    space_uid: o.status.as_ref().map(|s| r(&s.space_ref)).unwrap_or_default(),
    // The member (not a creator): who the role is for.
    owner_uid: o.status.as_ref().map(|s| r(&s.user_ref)).unwrap_or_default(),
    subtype: o.spec.as_ref().map(|s| s.role.to_string()).unwrap_or_default(),
    ..Default::default()
});
stored!(cordium::GitProvider, "GitProvider", "cordium/v1", |o| Index {
    space_uid: o.status.as_ref().map(|s| r(&s.space_ref)).unwrap_or_default(),
    owner_uid: o.status.as_ref().map(|s| r(&s.user_ref)).unwrap_or_default(),
    ..Default::default()
});
stored!(cordium::Volume, "Volume", "cordium/v1", |o| Index {
    space_uid: o.status.as_ref().map(|s| r(&s.space_ref)).unwrap_or_default(),
    owner_uid: o.status.as_ref().map(|s| r(&s.user_ref)).unwrap_or_default(),
    ..Default::default()
});
stored!(core::Policy, "Policy", "core/v1", |_o| Index::default());

fn decode<T: Stored>(body: Vec<u8>) -> ApiResult<T> {
    Ok(T::decode(body.as_slice())?)
}

/// The object of kind `T` with this uid.
pub fn get_by_uid<T: Stored>(conn: &Connection, uid: &str) -> ApiResult<Option<T>> {
    let body: Option<Vec<u8>> = conn
        .prepare_cached("SELECT body FROM objects WHERE kind = ?1 AND uid = ?2")?
        .query_row(params![T::KIND, uid], |row| row.get(0))
        .optional()?;
    body.map(decode).transpose()
}

/// The object of kind `T` with this (stored) name.
pub fn get_by_name<T: Stored>(conn: &Connection, name: &str) -> ApiResult<Option<T>> {
    let body: Option<Vec<u8>> = conn
        .prepare_cached("SELECT body FROM objects WHERE kind = ?1 AND name = ?2")?
        .query_row(params![T::KIND, name], |row| row.get(0))
        .optional()?;
    body.map(decode).transpose()
}

/// Whether a name of kind `kind` is taken.
pub fn name_taken(conn: &Connection, kind: &str, name: &str) -> ApiResult<bool> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM objects WHERE kind = ?1 AND name = ?2")?
        .query_row(params![kind, name], |row| row.get(0))?;
    Ok(n > 0)
}

fn created_nanos(m: &meta::Metadata) -> i64 {
    m.created_at.as_ref().map(|t| t.seconds * 1_000_000_000 + i64::from(t.nanos)).unwrap_or(0)
}

/// Inserts a new object (uid, name and resourceVersion already set).
pub fn insert<T: Stored>(conn: &Connection, object: &T) -> ApiResult<()> {
    let m = object.meta().cloned().unwrap_or_default();
    let ix = object.index();
    conn.prepare_cached(
        "INSERT INTO objects (kind, uid, name, space_uid, owner_uid, template_uid, display_name,
             subtype, resource_version, created_at, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        T::KIND,
        m.uid,
        m.name,
        ix.space_uid,
        ix.owner_uid,
        ix.template_uid,
        m.display_name,
        ix.subtype,
        m.resource_version,
        created_nanos(&m),
        object.encode_to_vec()
    ])?;
    Ok(())
}

/// Replaces a stored object (matched by uid).
pub fn replace<T: Stored>(conn: &Connection, object: &T) -> ApiResult<()> {
    let m = object.meta().cloned().unwrap_or_default();
    let ix = object.index();
    conn.prepare_cached(
        "UPDATE objects SET space_uid = ?2, owner_uid = ?3, template_uid = ?4, display_name = ?5,
             subtype = ?6, resource_version = ?7, body = ?8
         WHERE kind = ?9 AND uid = ?1",
    )?
    .execute(params![
        m.uid,
        ix.space_uid,
        ix.owner_uid,
        ix.template_uid,
        m.display_name,
        ix.subtype,
        m.resource_version,
        object.encode_to_vec(),
        T::KIND
    ])?;
    Ok(())
}

/// Deletes an object (and its sealed part) by uid; whether it existed.
pub fn delete(conn: &Connection, uid: &str) -> ApiResult<bool> {
    conn.prepare_cached("DELETE FROM sealed WHERE uid = ?1")?.execute(params![uid])?;
    Ok(conn.prepare_cached("DELETE FROM objects WHERE uid = ?1")?.execute(params![uid])? > 0)
}

/// Stores the sealed part of the object with this uid.
pub fn put_sealed(conn: &Connection, uid: &str, sealed: &[u8]) -> ApiResult<()> {
    conn.prepare_cached(
        "INSERT INTO sealed (uid, data) VALUES (?1, ?2)
         ON CONFLICT (uid) DO UPDATE SET data = excluded.data",
    )?
    .execute(params![uid, sealed])?;
    Ok(())
}

/// The sealed part of the object with this uid.
pub fn get_sealed(conn: &Connection, uid: &str) -> ApiResult<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT data FROM sealed WHERE uid = ?1")?
        .query_row(params![uid], |row| row.get(0))
        .optional()?)
}

/// The role (upstream `Membership.Spec.Role` number) of the User `user_uid` in a Space: its
/// Membership object's.
pub fn membership(conn: &Connection, space_uid: &str, user_uid: &str) -> ApiResult<Option<i32>> {
    let role: Option<String> = conn
        .prepare_cached(MEMBERSHIP_ROLE)?
        .query_row(params![space_uid, user_uid], |row| row.get(0))
        .optional()?;
    Ok(role.map(|r| r.parse().unwrap_or_default()))
}

/// The query of [`membership`]: its Space and User as `?1` and `?2`. The literal kind is what
/// lets SQLite use the `objects_membership` index.
const MEMBERSHIP_ROLE: &str =
    "SELECT subtype FROM objects WHERE kind = 'Membership' AND space_uid = ?1 AND owner_uid = ?2";

/// The Membership of the User `user_uid` in a Space, if any.
pub fn membership_object(
    conn: &Connection,
    space_uid: &str,
    user_uid: &str,
) -> ApiResult<Option<cordium::Membership>> {
    let body: Option<Vec<u8>> = conn
        .prepare_cached(
            "SELECT body FROM objects WHERE kind = 'Membership' AND space_uid = ?1
             AND owner_uid = ?2 ORDER BY seq LIMIT 1",
        )?
        .query_row(params![space_uid, user_uid], |row| row.get(0))
        .optional()?;
    body.map(decode).transpose()
}

/// Deletes every Membership of a Space; how many there were.
pub fn delete_memberships(conn: &Connection, space_uid: &str) -> ApiResult<usize> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM objects WHERE kind = 'Membership' AND space_uid = ?1 AND space_uid != ''",
        )?
        .execute(params![space_uid])?)
}

/// How many Memberships a Space has.
pub fn count_memberships(conn: &Connection, space_uid: &str) -> ApiResult<u64> {
    count::<cordium::Membership>(
        conn,
        &Filter { space_uid: Some(space_uid.to_string()), ..Default::default() },
    )
}

/// The rows of the `memberships` table older stores kept (Space uid, User uid, role in that
/// table's numbering), removed as they are read.
pub fn take_legacy_memberships(conn: &Connection) -> ApiResult<Vec<(String, String, i32)>> {
    let rows = {
        let mut stmt = conn.prepare("SELECT space_uid, user_uid, role FROM memberships")?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    conn.prepare_cached("DELETE FROM memberships")?.execute([])?;
    Ok(rows)
}

/// Whether a one-time step (seeding, a migration) named `name` has run on this store.
pub fn flag(conn: &Connection, name: &str) -> ApiResult<bool> {
    let key = format!("flag:{name}");
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM counters WHERE name = ?1")?
        .query_row(params![key], |row| row.get(0))?;
    Ok(n > 0)
}

/// Records that the one-time step `name` has run.
pub fn set_flag(conn: &Connection, name: &str) -> ApiResult<()> {
    conn.prepare_cached(
        "INSERT INTO counters (name, value) VALUES (?1, 1) ON CONFLICT (name) DO NOTHING",
    )?
    .execute(params![format!("flag:{name}")])?;
    Ok(())
}

/// The next resourceVersion: a store-wide counter, zero-padded so versions sort.
pub fn next_version(conn: &Connection) -> ApiResult<String> {
    conn.prepare_cached(
        "INSERT INTO counters (name, value) VALUES ('rv', 1)
         ON CONFLICT (name) DO UPDATE SET value = value + 1",
    )?
    .execute([])?;
    let v: i64 = conn
        .prepare_cached("SELECT value FROM counters WHERE name = 'rv'")?
        .query_row([], |row| row.get(0))?;
    Ok(format!("{v:012}"))
}

/// Equality filters of a List (all must hold); `None` = no filter on that column.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub space_uid: Option<String>,
    pub owner_uid: Option<String>,
    pub template_uid: Option<String>,
    pub subtype: Option<String>,
    /// Only Spaces this User (uid) has a Membership in.
    pub member_uid: Option<String>,
}

/// Row order of a List.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// Insertion order (upstream: by row id).
    #[default]
    Insertion,
    NameAsc,
    NameDesc,
    CreatedAsc,
    CreatedDesc,
}

/// How many objects of kind `T` match `filter`.
pub fn count<T: Stored>(conn: &Connection, filter: &Filter) -> ApiResult<u64> {
    let (clause, args) = where_clause(T::KIND, filter);
    let sql = format!("SELECT COUNT(*) FROM objects WHERE {clause}");
    let n: i64 = conn
        .prepare_cached(&sql)?
        .query_row(rusqlite::params_from_iter(args.iter()), |row| row.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn where_clause(kind: &str, f: &Filter) -> (String, Vec<String>) {
    let mut clause = String::from("kind = ?1");
    let mut args = vec![kind.to_string()];
    for (col, val) in [
        ("space_uid", &f.space_uid),
        ("owner_uid", &f.owner_uid),
        ("template_uid", &f.template_uid),
        ("subtype", &f.subtype),
    ] {
        if let Some(v) = val {
            args.push(v.clone());
            clause.push_str(&format!(" AND {col} = ?{}", args.len()));
            // What lets SQLite use the column's partial index (it cannot tell that the bound
            // value is not empty). An empty value is answered through the kind index instead.
            if !v.is_empty() {
                clause.push_str(&format!(" AND {col} != ''"));
            }
        }
    }
    if let Some(user) = &f.member_uid {
        args.push(user.clone());
        clause.push_str(&format!(
            " AND uid IN (SELECT space_uid FROM objects WHERE kind = 'Membership' AND owner_uid = ?{} AND owner_uid != '')",
            args.len()
        ));
    }
    (clause, args)
}

/// The query of one page of `kind` objects, and its arguments.
fn list_sql(
    kind: &str,
    filter: &Filter,
    order: Order,
    limit: u64,
    offset: u64,
) -> (String, Vec<String>) {
    let (clause, args) = where_clause(kind, filter);
    let order_sql = match order {
        Order::Insertion => "seq ASC",
        Order::NameAsc => "name ASC, seq ASC",
        Order::NameDesc => "name DESC, seq ASC",
        Order::CreatedAsc => "created_at ASC, seq ASC",
        Order::CreatedDesc => "created_at DESC, seq ASC",
    };
    let sql = format!(
        "SELECT body FROM objects WHERE {clause} ORDER BY {order_sql} LIMIT {} OFFSET {}",
        i64::try_from(limit).unwrap_or(i64::MAX),
        i64::try_from(offset).unwrap_or(i64::MAX)
    );
    (sql, args)
}

/// One page of objects of kind `T`, and the total matching count.
pub fn list<T: Stored>(
    conn: &Connection,
    filter: &Filter,
    order: Order,
    limit: u64,
    offset: u64,
) -> ApiResult<(Vec<T>, u64)> {
    let total = count::<T>(conn, filter)?;
    Ok((page::<T>(conn, filter, order, limit, offset)?, total))
}

/// One page of objects of kind `T`, without their count.
fn page<T: Stored>(
    conn: &Connection,
    filter: &Filter,
    order: Order,
    limit: u64,
    offset: u64,
) -> ApiResult<Vec<T>> {
    let (sql, args) = list_sql(T::KIND, filter, order, limit, offset);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows =
        stmt.query_map(rusqlite::params_from_iter(args.iter()), |row| row.get::<_, Vec<u8>>(0))?;
    let mut out = Vec::new();
    for body in rows {
        out.push(decode::<T>(body?)?);
    }
    Ok(out)
}

/// Every object of kind `T` matching `filter` (for cascades and internal scans).
pub fn all<T: Stored>(conn: &Connection, filter: &Filter) -> ApiResult<Vec<T>> {
    page::<T>(conn, filter, Order::Insertion, u64::MAX >> 1, 0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn metadata(uid: &str, name: &str) -> Option<meta::Metadata> {
        Some(meta::Metadata {
            uid: uid.into(),
            name: name.into(),
            resource_version: "1".into(),
            ..Default::default()
        })
    }

    fn space(uid: &str, name: &str, owner: &str) -> cordium::Space {
        cordium::Space {
            metadata: metadata(uid, name),
            status: Some(cordium::space::Status {
                user_ref: Some(meta::ObjectReference { uid: owner.into(), ..Default::default() }),
                r#type: cordium::space::status::Type::User as i32,
            }),
            ..Default::default()
        }
    }

    // A page in the default order walks an index in that order and skips the pages before it;
    // it never sorts every object of the kind (which made paging through them quadratic).
    #[test]
    fn pages_in_insertion_order_are_read_from_an_index_not_sorted() {
        let conn = open_in_memory().unwrap();
        let some = || Some("x".to_string());
        // Each filter is answered through the index of its own column, not by walking every
        // object of the kind through the `kind` index.
        let filters = [
            (Filter::default(), "(kind=?)"),
            (Filter { space_uid: some(), ..Default::default() }, "(kind=? AND space_uid=?)"),
            (Filter { owner_uid: some(), ..Default::default() }, "(kind=? AND owner_uid=?)"),
            (Filter { template_uid: some(), ..Default::default() }, "(kind=? AND template_uid=?)"),
            (Filter { subtype: some(), ..Default::default() }, "(kind=? AND subtype=?)"),
        ];
        for (filter, search) in filters {
            let (sql, args) = list_sql("User", &filter, Order::Insertion, 1000, 20_000);
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let plan: Vec<String> = stmt
                .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get::<_, String>(3))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(plan.iter().all(|step| !step.contains("TEMP B-TREE")), "{filter:?}: {plan:?}");
            assert!(
                plan.iter().any(|step| step.contains("USING") && step.contains(search)),
                "{filter:?}: {plan:?}"
            );
        }
        // The permission check every operation makes looks its Membership up by Space and User.
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {MEMBERSHIP_ROLE}")).unwrap();
        let plan: Vec<String> = stmt
            .query_map(["s", "u"], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            plan,
            ["SEARCH objects USING INDEX objects_membership (space_uid=? AND owner_uid=?)"]
        );
    }

    fn membership(uid: &str, space_uid: &str, user_uid: &str, role: i32) -> cordium::Membership {
        let r = |uid: &str| Some(meta::ObjectReference { uid: uid.into(), ..Default::default() });
        cordium::Membership {
            metadata: metadata(uid, uid),
            spec: Some(cordium::membership::Spec { role }),
            status: Some(cordium::membership::Status {
                space_ref: r(space_uid),
                user_ref: r(user_uid),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    // A role check reads the one Membership it asks for, however many Spaces the User is a
    // member of and however many members the Space has (the VM steps of its statement do not
    // grow with either).
    #[test]
    fn a_role_check_reads_one_membership() {
        let conn = open_in_memory().unwrap();
        let steps = |conn: &Connection, space: &str, user: &str| {
            let role = super::membership(conn, space, user).unwrap();
            let stmt = conn.prepare_cached(MEMBERSHIP_ROLE).unwrap();
            (role, stmt.reset_status(rusqlite::StatementStatus::VmStep))
        };
        // The Membership asked for is the last one made: a scan of the caller's Memberships, or
        // of the Space's, or of every Membership, reaches it last.
        insert(&conn, &membership("m0", "s0", "u0", 3)).unwrap();
        let (role, few) = steps(&conn, "s0", "u0");
        assert_eq!(role, Some(3));
        let conn = open_in_memory().unwrap();
        for i in 1..500 {
            insert(&conn, &membership(&format!("m{i}"), &format!("s{i}"), "u0", 1)).unwrap();
            insert(&conn, &membership(&format!("n{i}"), "s0", &format!("u{i}"), 2)).unwrap();
        }
        insert(&conn, &membership("m0", "s0", "u0", 3)).unwrap();
        let (role, many) = steps(&conn, "s0", "u0");
        assert_eq!(role, Some(3));
        assert!(many <= 2 * few, "{few} VM steps with one Membership, {many} with 999");
        assert_eq!(steps(&conn, "s7", "u7").0, None);
        let found = membership_object(&conn, "s9", "u0").unwrap().unwrap();
        assert_eq!(found.metadata.unwrap().uid, "m9");
        assert!(membership_object(&conn, "s9", "u9").unwrap().is_none());
    }

    // A List filtered by a new value runs its prepared statement again; it is not parsed and
    // planned again for each value (which every CreateUser's email check did), in a store file
    // or in memory.
    #[test]
    fn filtered_lists_are_not_prepared_again_for_each_value() {
        let dir = tempfile::tempdir().unwrap();
        for conn in [open(&dir.path().join("local.db")).unwrap(), open_in_memory().unwrap()] {
            assert!(conn
                .db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG)
                .unwrap());
            insert(&conn, &space("u1", "a.x", "o1")).unwrap();
            let by = |v: &str| {
                [
                    Filter { space_uid: Some(v.into()), ..Default::default() },
                    Filter { owner_uid: Some(v.into()), ..Default::default() },
                    Filter { template_uid: Some(v.into()), ..Default::default() },
                    Filter { subtype: Some(v.into()), ..Default::default() },
                ]
            };
            for value in ["o1", "o2", "o3", ""] {
                for filter in by(value) {
                    let found = all::<cordium::Space>(&conn, &filter).unwrap();
                    let (page, total) =
                        list::<cordium::Space>(&conn, &filter, Order::NameAsc, 10, 0).unwrap();
                    assert_eq!((page.len(), total), (found.len(), found.len() as u64));
                }
            }
            assert_eq!(all::<cordium::Space>(&conn, &by("o1")[1]).unwrap().len(), 1);
            for filter in by("o9") {
                for order in [Order::Insertion, Order::NameAsc] {
                    let (sql, _) = list_sql(
                        "Space",
                        &filter,
                        order,
                        if order == Order::Insertion { u64::MAX >> 1 } else { 10 },
                        0,
                    );
                    let stmt = conn.prepare_cached(&sql).unwrap();
                    assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0, "{sql}");
                }
            }
        }
    }

    // The filter columns are indexed only where set: an object that leaves one empty has no
    // entry in that index, and a filter on the empty value still finds it (through the kind
    // index).
    #[test]
    fn empty_filter_columns_are_not_indexed_yet_still_match() {
        let conn = open_in_memory().unwrap();
        insert(&conn, &space("u1", "a.x", "")).unwrap();
        insert(&conn, &space("u2", "b.x", "o1")).unwrap();
        for column in ["space_uid", "owner_uid", "template_uid", "subtype"] {
            let index = format!("objects_{}_set", column.trim_end_matches("_uid"));
            let sql: String = conn
                .query_row("SELECT sql FROM sqlite_master WHERE name = ?1", [&index], |r| r.get(0))
                .unwrap();
            assert!(sql.ends_with(&format!("WHERE {column} != ''")), "{index}: {sql}");
        }
        let empty = Filter { owner_uid: Some(String::new()), ..Default::default() };
        let (page, total) = list::<cordium::Space>(&conn, &empty, Order::Insertion, 10, 0).unwrap();
        assert_eq!((total, page.len()), (1, 1));
        assert_eq!(page[0].metadata.as_ref().unwrap().name, "a.x");
        let set = Filter { owner_uid: Some("o1".into()), ..Default::default() };
        assert_eq!(count::<cordium::Space>(&conn, &set).unwrap(), 1);
    }

    // A store file keeps savepoint journals in memory and checkpoints its WAL in large steps.
    #[test]
    fn store_files_journal_in_memory_and_checkpoint_in_large_steps() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("local.db")).unwrap();
        let get =
            |p: &str| -> i64 { conn.query_row(&format!("PRAGMA {p}"), [], |r| r.get(0)).unwrap() };
        assert_eq!(get("temp_store"), 2, "MEMORY");
        assert_eq!(get("wal_autocheckpoint"), 10_000);
    }

    // A store made before the partial indexes loses its full ones when opened.
    #[test]
    fn full_filter_indexes_of_older_stores_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.db");
        {
            let conn = open(&path).unwrap();
            conn.execute_batch(
                "DROP INDEX objects_owner_set; CREATE INDEX objects_owner ON objects (kind, owner_uid);",
            )
            .unwrap();
        }
        let conn = open(&path).unwrap();
        let names: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'objects_%'",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(names.contains(&"objects_owner_set".to_string()), "{names:?}");
        assert!(!names.contains(&"objects_owner".to_string()), "{names:?}");
    }

    #[test]
    fn insert_get_replace_delete() {
        let conn = open_in_memory().unwrap();
        let s = space("u1", "ab.alice", "o1");
        insert(&conn, &s).unwrap();
        assert_eq!(get_by_uid::<cordium::Space>(&conn, "u1").unwrap(), Some(s.clone()));
        assert_eq!(get_by_name::<cordium::Space>(&conn, "ab.alice").unwrap(), Some(s.clone()));
        assert_eq!(get_by_name::<cordium::Template>(&conn, "ab.alice").unwrap(), None);
        assert!(insert(&conn, &space("u2", "ab.alice", "o1")).is_err(), "names are unique");
        let mut s2 = s.clone();
        s2.meta_mut().display_name = "X".into();
        replace(&conn, &s2).unwrap();
        assert_eq!(get_by_uid::<cordium::Space>(&conn, "u1").unwrap(), Some(s2));
        assert!(delete(&conn, "u1").unwrap());
        assert!(!delete(&conn, "u1").unwrap());
    }

    #[test]
    fn list_filters_and_pages() {
        let conn = open_in_memory().unwrap();
        for i in 0..25 {
            let owner = if i % 2 == 0 { "even" } else { "odd" };
            insert(&conn, &space(&format!("u{i}"), &format!("s{i:02}.x"), owner)).unwrap();
        }
        let f = Filter { owner_uid: Some("even".into()), ..Default::default() };
        let (page, total) = list::<cordium::Space>(&conn, &f, Order::Insertion, 5, 5).unwrap();
        assert_eq!(total, 13);
        assert_eq!(page.len(), 5);
        assert_eq!(page[0].metadata.as_ref().unwrap().name, "s10.x");
        let (page, _) = list::<cordium::Space>(&conn, &f, Order::NameDesc, 1, 0).unwrap();
        assert_eq!(page[0].metadata.as_ref().unwrap().name, "s24.x");
        let user = Filter { subtype: Some("user".into()), ..Default::default() };
        assert_eq!(count::<cordium::Space>(&conn, &user).unwrap(), 25);
    }

    #[test]
    fn versions_increase() {
        let conn = open_in_memory().unwrap();
        let a = next_version(&conn).unwrap();
        let b = next_version(&conn).unwrap();
        assert!(b > a);
    }
}
