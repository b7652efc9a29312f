//! Reading the config directory: finding files, parsing HCL and YAML into raw documents with
//! source spans, variables, locals, var files and the stack file's environments.
//!
//! Produces [`RawDoc`]s: YAML documents in the canonical shape (see `model::document`), HCL resource
//! blocks in the raw HCL shape (see [`hcl`]) with every expression already evaluated. Typing them
//! is the model's job. Must not talk to a cluster.

pub mod hcl;
pub mod read;
pub mod spec_from;
pub mod stack;
pub mod tree;
pub mod yaml;

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Diagnostics, FileId, Sources, Span};
use tree::Node;

/// The format a document was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Yaml,
    Hcl,
}

/// One resource document, before typing.
#[derive(Debug, Clone, PartialEq)]
pub struct RawDoc {
    pub format: Format,
    /// YAML: the document as written (canonical shape). HCL: see [`hcl`] for the raw shape.
    pub node: Node,
    /// The document or block, for "defined here" notes.
    pub span: Span,
    pub file: FileId,
    /// A YAML document whose tree is exactly what its text parses to (no `specFrom` resolved
    /// into it): where to read it again ([`yaml::reparse`]), so that the model need not keep
    /// the tree. `None` for HCL blocks (the result of evaluation) and `specFrom` documents.
    pub reparse: Option<Reparse>,
}

/// Where a YAML document's text is: the whole file's text and [`yaml::Document::from`].
#[derive(Debug, Clone)]
pub struct Reparse {
    pub text: std::sync::Arc<str>,
    pub from: usize,
}

impl PartialEq for Reparse {
    /// The same text (the same file read once) from the same offset.
    fn eq(&self, other: &Self) -> bool {
        self.from == other.from
            && (std::sync::Arc::ptr_eq(&self.text, &other.text) || self.text == other.text)
    }
}

impl Reparse {
    /// The document's tree, as [`yaml::parse`] of the whole file gave it (`span` is the
    /// document's).
    pub fn tree(&self, span: Span) -> Option<Node> {
        yaml::reparse(span.file, &self.text, self.from, span)
    }
}

/// The documents of one YAML file's text as the loader makes them (each with its
/// [`Reparse`]), without reading the files a `specFrom` names: for tests and benches that
/// build a [`Loaded`] by hand.
pub fn yaml_docs(file: FileId, text: &std::sync::Arc<str>, diags: &mut Diagnostics) -> Vec<RawDoc> {
    yaml::parse(file, text, diags)
        .into_iter()
        .map(|doc| RawDoc {
            format: Format::Yaml,
            reparse: (doc.node.get(spec_from::SPEC_FROM).is_none())
                .then(|| Reparse { text: text.clone(), from: doc.from }),
            node: doc.node,
            span: doc.span,
            file,
        })
        .collect()
}

/// A `--var` or `--var-file`, in the order given (later wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarArg {
    Var { name: String, value: String },
    File(PathBuf),
}

/// What the caller says about loading (already merged from flags and environment by `cli`).
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--env NAME`: an environment of the stack file, whose var files apply.
    pub env: Option<String>,
    /// `CORDIUM_VAR_<name>` values, read by `cli` from the environment.
    pub env_vars: Vec<(String, String)>,
    /// `--var` and `--var-file` in the order given.
    pub vars: Vec<VarArg>,
    /// `--strict-kinds`: a YAML document of a kind cordium does not manage (an Octelium
    /// Namespace, Service, …) is an error instead of being skipped with a warning.
    pub strict_kinds: bool,
    /// `--allow-outside-files`: HCL's `file()` and `fileexists()` may read files outside the
    /// config root (refused by default, as a Secret's `from_file` is).
    pub allow_outside_files: bool,
}

/// Everything read from a config directory.
#[derive(Debug, Default)]
pub struct Loaded {
    pub root: PathBuf,
    pub sources: Sources,
    pub docs: Vec<RawDoc>,
    /// `import` blocks (HCL) and `import:` documents (YAML), in file order.
    pub imports: Vec<ImportDecl>,
    pub stack: Option<stack::Stack>,
    pub diagnostics: Diagnostics,
    /// [`LoadOptions::strict_kinds`], for the model.
    pub strict_kinds: bool,
    /// Every declared variable's value as resolved (a saved plan records them; a sensitive
    /// one only as a keyed digest).
    pub variables: Vec<Variable>,
}

/// A declared variable and the value it resolved to.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    pub value: serde_json::Value,
    pub sensitive: bool,
}

/// The file at the config root listing paths (gitignore syntax) that are never config.
pub const IGNORE_FILE: &str = ".cordiumignore";

/// Largest config file read; bigger files are refused with a diagnostic.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// Reads every `.hcl`, `.yaml` and `.yml` under `root` (recursively; hidden folders and
/// `.cordium/` skipped), plus the stack file, into raw documents. Never fails: problems are
/// diagnostics.
///
/// A file a Secret names with `fromFile` (`from_file`) holds a secret value, never config, even
/// when it is called `*.yaml` or `*.hcl`. Those names are known only once the config is read, so
/// when one of them is a config file the whole load is done again without it: nothing of its
/// text (no document, no diagnostic, no snippet) reaches the result.
pub fn load(root: &Path, opts: &LoadOptions) -> Loaded {
    load_with(root, opts, &KeepAll)
}

/// Takes YAML documents as soon as their file is parsed, on the thread that parsed it, so that
/// a caller can make what it needs of each (the model: a resource) and drop its tree before the
/// next files are parsed: the trees of a whole config are never all held at once.
///
/// Offered are the YAML documents of cordium that the loader itself has nothing more to do
/// with: no `specFrom` to resolve, not an `import`, no `fromFile`/`from_file` naming a file
/// that must not be config. Each carries its [`RawDoc::reparse`]. What `take` hands back is
/// kept in [`Loaded::docs`] as usual; the order of the documents taken is their
/// `(span.file, span.start)`, which is also their order among `Loaded::docs`.
pub trait DocSink: Sync {
    /// The cordium documents of one file, in order: those not taken are handed back.
    fn take(&self, docs: Vec<RawDoc>) -> Vec<RawDoc>;
    /// Forgets everything taken: the load starts again (see [`load`]).
    fn restart(&self);
}

/// The sink of [`load`]: takes nothing.
struct KeepAll;

impl DocSink for KeepAll {
    fn take(&self, docs: Vec<RawDoc>) -> Vec<RawDoc> {
        docs
    }
    fn restart(&self) {}
}

/// [`load`], offering the YAML documents to `sink` as their files are parsed.
pub fn load_with(root: &Path, opts: &LoadOptions, sink: &dyn DocSink) -> Loaded {
    let first = load_except(root, opts, &[], sink);
    let secret_files = secret_files(&first);
    if secret_files.is_empty() {
        return first;
    }
    drop(first);
    sink.restart();
    load_except(root, opts, &secret_files, sink)
}

/// The config files (root-relative, as `find_files` lists them) that a Secret document names
/// as where its value is read.
fn secret_files(loaded: &Loaded) -> Vec<PathBuf> {
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    let named: Vec<PathBuf> = loaded
        .docs
        .iter()
        .filter_map(|d| ["from_file", "fromFile"].into_iter().find_map(|k| d.node.get(k)?.as_str()))
        .filter_map(|p| canonical(&loaded.root.join(p)))
        .collect();
    if named.is_empty() {
        return Vec::new();
    }
    let mut files = Vec::new();
    let ignore = ignore_rules(&loaded.root, &mut Diagnostics::new());
    find_files(&loaded.root, Path::new(""), &ignore, &mut files, &mut Diagnostics::new());
    files.retain(|rel| canonical(&loaded.root.join(rel)).is_some_and(|c| named.contains(&c)));
    files
}

/// The var files this load reads (`--var-file`s, and the selected environment's), canonical.
fn var_files(root: &Path, stack: Option<&stack::Stack>, opts: &LoadOptions) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = opts
        .vars
        .iter()
        .filter_map(|v| match v {
            VarArg::File(p) => std::fs::canonicalize(p).ok(),
            VarArg::Var { .. } => None,
        })
        .collect();
    // Every environment's, not only the selected one's: a file the stack file names as a var
    // file is never a resource file.
    for env in stack.into_iter().flat_map(|s| s.environments.values()) {
        out.extend(env.var_files.iter().filter_map(|f| std::fs::canonicalize(root.join(f)).ok()));
    }
    out
}

/// The `.cordiumignore` rules at `root` (none when there is no such file). A rule file that
/// cannot be read, or a line that is not a valid pattern, is a warning naming it.
pub fn ignore_rules(root: &Path, diags: &mut Diagnostics) -> ignore::gitignore::Gitignore {
    let path = root.join(IGNORE_FILE);
    let mut builder = ignore::gitignore::GitignoreBuilder::new(root);
    if path.exists() {
        let text = match read::regular_text(&path, MAX_FILE_BYTES) {
            Ok(t) => t,
            Err(e) => {
                diags.push(Diagnostic::warning(
                    "cordiumignore",
                    format!(
                        "cannot read {}: {e}; no path is ignored",
                        read::shown(&path).display()
                    ),
                ));
                String::new()
            }
        };
        for (i, line) in text.lines().enumerate() {
            if let Err(e) = builder.add_line(Some(path.clone()), line) {
                diags.push(Diagnostic::warning(
                    "cordiumignore",
                    format!("{}:{}: {e}; the line is ignored", read::shown(&path).display(), i + 1),
                ));
            }
        }
    }
    builder.build().unwrap_or_else(|_| ignore::gitignore::Gitignore::empty())
}

fn load_except(root: &Path, opts: &LoadOptions, skip: &[PathBuf], sink: &dyn DocSink) -> Loaded {
    let mut loaded =
        Loaded { root: root.to_path_buf(), strict_kinds: opts.strict_kinds, ..Loaded::default() };
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            loaded.diagnostics.push(
                Diagnostic::error("config-dir", format!("`{}` is not a directory", root.display()))
                    .help("pass the directory that holds your .hcl or .yaml files"),
            );
            return loaded;
        }
        Err(e) => {
            loaded.diagnostics.push(
                Diagnostic::error(
                    "config-dir",
                    format!("cannot read the config directory `{}`: {e}", root.display()),
                )
                .help("pass the directory that holds your .hcl or .yaml files"),
            );
            return loaded;
        }
    }
    let mut files = Vec::new();
    let ignore = ignore_rules(root, &mut loaded.diagnostics);
    find_files(root, Path::new(""), &ignore, &mut files, &mut loaded.diagnostics);
    files.retain(|f| !skip.contains(f));
    files.sort();
    if files.is_empty() {
        loaded.diagnostics.push(
            Diagnostic::warning(
                "no-files",
                format!("no .hcl, .yaml or .yml files under `{}`", root.display()),
            )
            .help("pass the directory that holds your config"),
        );
    }

    loaded.stack = stack::load(root, &mut loaded.sources, &mut loaded.diagnostics);
    // A var file under the root is read as a var file only (it may hold sensitive values).
    let var_files = var_files(root, loaded.stack.as_ref(), opts);
    files.retain(|f| std::fs::canonicalize(root.join(f)).map_or(true, |c| !var_files.contains(&c)));

    let (hcl_files, yaml_files): (Vec<PathBuf>, Vec<PathBuf>) =
        files.into_iter().partition(|rel| rel.extension().is_some_and(|e| e == "hcl"));
    let mut yaml_files = yaml_files.into_iter().peekable();
    while yaml_files.peek().is_some() {
        // Files are read (and so numbered) in order, and a `specFrom` reads its file (numbering
        // it) before the next config file is read: a batch of files is read, parsed in
        // parallel, then resolved in order, and ends after a file that may hold a `specFrom`.
        let mut batch = Vec::new();
        for rel in yaml_files.by_ref() {
            let Some((file, text)) =
                read_source(root, &rel, &mut loaded.sources, &mut loaded.diagnostics)
            else {
                continue;
            };
            // A key is `specFrom` only if the text says so, or spells it with escapes.
            let may_read = text.contains(spec_from::SPEC_FROM) || text.contains('\\');
            batch.push((file, text));
            if may_read {
                break;
            }
        }
        for parsed in parse_yaml_files(&batch, sink) {
            loaded.diagnostics.extend(parsed.diags);
            if parsed.foreign > 0 {
                loaded.diagnostics.push(foreign_yaml(parsed.file, parsed.foreign, parsed.total));
            }
            for mut doc in parsed.docs {
                if doc.reparse.is_none() {
                    spec_from::resolve(
                        root,
                        &mut doc.node,
                        &mut loaded.sources,
                        &mut loaded.diagnostics,
                    );
                }
                loaded.docs.push(doc);
            }
        }
    }
    let (hcl_docs, variables) = hcl::load_with_variables(
        root,
        &hcl_files,
        loaded.stack.as_ref(),
        opts,
        &mut loaded.sources,
        &mut loaded.diagnostics,
    );
    loaded.docs.extend(hcl_docs);
    loaded.variables = variables;
    take_imports(&mut loaded);
    loaded
}

/// YAML bytes up to this many are parsed on the calling thread; more are split between the
/// machine's cores, a whole file each (a file parses on its own).
const PARALLEL_FROM_BYTES: usize = 256 * 1024;

/// One parsed YAML file: its cordium documents that the sink did not take, its problems, and
/// how many of its documents are not cordium's.
struct ParsedFile {
    file: FileId,
    docs: Vec<RawDoc>,
    diags: Diagnostics,
    foreign: usize,
    total: usize,
}

/// Parses YAML files, in parallel when there is enough text, offering each file's documents to
/// `sink` on the thread that parsed it; each file's result, in the order given.
fn parse_yaml_files(
    files: &[(FileId, std::sync::Arc<str>)],
    sink: &dyn DocSink,
) -> Vec<ParsedFile> {
    let parse = |(file, text): &(FileId, std::sync::Arc<str>)| {
        let mut diags = Diagnostics::new();
        let docs = yaml_docs(*file, text, &mut diags);
        let total = docs.len();
        let (ours, offered): (Vec<RawDoc>, Vec<RawDoc>) =
            docs.into_iter().filter(|d| is_cordium_document(&d.node)).partition(|d| !may_offer(d));
        let foreign = total - ours.len() - offered.len();
        let mut kept = sink.take(offered);
        // Back in file order: a document the sink handed back among those it was not offered.
        if !ours.is_empty() {
            kept.extend(ours);
            kept.sort_by_key(|d| d.span.start);
        }
        ParsedFile { file: *file, docs: kept, diags, foreign, total }
    };
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    if bytes < PARALLEL_FROM_BYTES || threads < 2 || files.len() < 2 {
        return files.iter().map(parse).collect();
    }
    // Files are handed out one at a time, so a large file does not hold up a whole share.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(f) = files.get(i) else { break };
            done.push((i, parse(f)));
        }
        done
    };
    let mut out: Vec<(usize, _)> = std::thread::scope(|scope| {
        let others: Vec<_> = (1..threads.min(files.len())).map(|_| scope.spawn(work)).collect();
        let mut all = work();
        for h in others {
            match h.join() {
                Ok(part) => all.extend(part),
                // Parsing does not panic; if it ever did, the panic is the caller's.
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        all
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Whether a cordium YAML document (parsed, nothing resolved yet) may go to a [`DocSink`]: the
/// loader has nothing more to do with it.
fn may_offer(doc: &RawDoc) -> bool {
    let import = doc.node.get("import").is_some() && is_single_key(&doc.node);
    let names_file = ["from_file", "fromFile"].iter().any(|k| doc.node.get(k).is_some());
    doc.reparse.is_some() && !import && !names_file
}

/// An import as written: adopt the live object `id` as the resource `to`
/// (`import { to = template.ml.gpu  id = "gpu.ml" }`, or the YAML document
/// `import: {to: template.ml.gpu, id: gpu.ml}`).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportDecl {
    pub to: String,
    pub to_span: Span,
    pub id: String,
    pub id_span: Span,
    /// The block or document.
    pub span: Span,
}

/// Moves every import document out of `docs` into `imports` (both formats write one as a
/// document whose only key is `import`).
fn take_imports(loaded: &mut Loaded) {
    let docs = std::mem::take(&mut loaded.docs);
    for doc in docs {
        let Some(import) = doc.node.get("import").filter(|_| is_single_key(&doc.node)) else {
            loaded.docs.push(doc);
            continue;
        };
        let field =
            |k: &str| import.get(k).and_then(|n| n.as_str().map(|s| (s.to_string(), n.span)));
        match (field("to"), field("id")) {
            (Some((to, to_span)), Some((id, id_span))) => {
                loaded.imports.push(ImportDecl { to, to_span, id, id_span, span: doc.span })
            }
            (to, _) => loaded.diagnostics.push(
                Diagnostic::error(
                    "import",
                    format!(
                        "an import needs `{}`: the address to import to and the live object's name",
                        if to.is_none() { "to" } else { "id" }
                    ),
                )
                .at(import.span)
                .help("write `import { to = template.SPACE.NAME  id = \"NAME.SPACE\" }` (YAML: `import: {to: ..., id: ...}`)"),
            ),
        }
    }
}

fn is_single_key(node: &tree::Node) -> bool {
    matches!(&node.value, tree::Value::Map(entries) if entries.len() == 1)
}

/// Whether a YAML document is meant for cordium (or Octelium): one of our kinds, or a document
/// with a `kind`, an `apiVersion` or a `metadata` whose `apiVersion`, when it has one, is
/// `cordium/…` or `core/…`. A `docker-compose.yml`, a CI workflow or a Kubernetes manifest is
/// not.
fn is_cordium_document(node: &tree::Node) -> bool {
    match &node.value {
        tree::Value::Map(_) => {}
        // A list of documents is an error of ours only if it holds one.
        tree::Value::List(items) => return items.iter().any(is_cordium_document),
        // A scalar where a document belongs: the decoder says what is wrong.
        _ => return true,
    }
    let has = |k: &str| node.get(k).is_some();
    // An `import:` document (docs/import-export.md) and a bare `spec:` file (read through
    // `specFrom`, skipped by the model: docs/yaml.md) are ours too.
    if is_single_key(node) && (has("import") || has("spec")) {
        return true;
    }
    if !(has("kind") || has("apiVersion") || has("metadata")) {
        return false;
    }
    // One of our kinds is ours whatever its apiVersion says (a wrong one is an error).
    let kind = node.get("kind").and_then(|k| k.as_str());
    if kind.is_some_and(|k| crate::kind::Kind::from_api_kind(k).is_some()) {
        return true;
    }
    match node.get("apiVersion").and_then(|v| v.as_str()) {
        Some(v) => v.starts_with("cordium/") || v.starts_with("core/"),
        None => true,
    }
}

/// The note for a YAML file with documents that are not cordium's: they are skipped.
fn foreign_yaml(file: FileId, foreign: usize, total: usize) -> Diagnostic {
    let what = if foreign == total {
        "this YAML file holds no cordium document".to_string()
    } else {
        format!("{foreign} of the {total} documents of this YAML file are not cordium documents")
    };
    Diagnostic::warning(
        "not-cordium",
        format!(
            "{what} (no `kind`, `apiVersion` or `metadata`, or an apiVersion other than \
             cordium/… or core/…); skipped"
        ),
    )
    .at(Span::file_start(file))
    .help("to silence this, list the file in .cordiumignore at the config root")
}

/// Collects config files under `root/rel`, as paths relative to `root`. Hidden entries (`.git`,
/// `.cordium`) and symlinked directories are skipped; the stack file at the root is not a
/// resource file.
fn find_files(
    root: &Path,
    rel: &Path,
    ignore: &ignore::gitignore::Gitignore,
    out: &mut Vec<PathBuf>,
    diags: &mut Diagnostics,
) {
    let dir = root.join(rel);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) => {
            diags.push(Diagnostic::error(
                "config-dir",
                format!("cannot read the directory `{}`: {e}", dir.display()),
            ));
            return;
        }
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let Some(name_str) = name.to_str() else { continue };
        if name_str.starts_with('.') {
            continue;
        }
        let path = rel.join(&name);
        let Ok(kind) = entry.file_type() else { continue };
        if ignore.matched(root.join(&path), kind.is_dir()).is_ignore() {
            continue;
        }
        if kind.is_dir() {
            find_files(root, &path, ignore, out, diags);
            continue;
        }
        let is_config = Path::new(name_str)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "hcl" | "yaml" | "yml"));
        if !is_config {
            continue;
        }
        if rel.as_os_str().is_empty() && stack::FILE_NAMES.contains(&name_str) {
            continue;
        }
        // A symlink to a file is read; a symlink to a directory is not followed (no loops).
        if kind.is_symlink() && root.join(&path).is_dir() {
            continue;
        }
        out.push(path);
    }
}

/// Reads one config file, refusing huge, binary and non-UTF-8 files with a diagnostic that names
/// it. The file is registered in `sources` either way, so the diagnostic can name it.
pub fn read_source(
    root: &Path,
    rel: &Path,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> Option<(FileId, std::sync::Arc<str>)> {
    let path = root.join(rel);
    let shown = read::shown(&path);
    let too_big = |sources: &mut Sources, diags: &mut Diagnostics, size: u64| {
        let file = sources.add(shown.clone(), "");
        diags.push(
            Diagnostic::error(
                "file-too-large",
                format!(
                    "this file is {} MB; config files larger than {} MB are not read",
                    size / (1024 * 1024),
                    MAX_FILE_BYTES / (1024 * 1024)
                ),
            )
            .at(Span::file_start(file))
            .help("split it into smaller files, or move it out of the config directory"),
        );
    };
    let bytes = match read::regular_file(&path, MAX_FILE_BYTES) {
        Ok(b) => b,
        Err(read::ReadError::TooLarge { .. }) => {
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(MAX_FILE_BYTES + 1);
            too_big(sources, diags, size.max(MAX_FILE_BYTES + 1));
            return None;
        }
        Err(read::ReadError::NotRegular { what }) => {
            let file = sources.add(shown.clone(), "");
            diags.push(not_regular(&shown, what, file));
            return None;
        }
        Err(e) => {
            let file = sources.add(shown, "");
            diags.push(
                Diagnostic::error("file-read", format!("cannot read this file: {e}"))
                    .at(Span::file_start(file)),
            );
            return None;
        }
    };
    if bytes.iter().take(8192).any(|b| *b == 0) {
        let file = sources.add(shown.clone(), "");
        diags.push(
            Diagnostic::error(
                "binary-file",
                format!("`{}` looks binary (it holds NUL bytes)", shown.display()),
            )
            .at(Span::file_start(file))
            .help("config files are UTF-8 text; move binary files out of the config directory"),
        );
        return None;
    }
    match String::from_utf8(bytes) {
        Ok(text) => {
            let text: std::sync::Arc<str> = text.into();
            let file = sources.add(shown, text.clone());
            Some((file, text))
        }
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let message = format!("`{}` is not valid UTF-8", shown.display());
            let file = sources.add(shown, lossy);
            diags.push(
                Diagnostic::error("not-utf8", message)
                    .at(Span::new(file, at, at))
                    .help("save the file as UTF-8"),
            );
            None
        }
    }
}

/// The diagnostic for a config file that is a FIFO, a device or a socket: it is not read (a
/// FIFO would block, a device never ends).
pub(crate) fn not_regular(shown: &Path, what: &str, file: FileId) -> Diagnostic {
    Diagnostic::error(
        "not-a-file",
        format!("`{}` is {what}, not a regular file; it is not read", shown.display()),
    )
    .at(Span::file_start(file))
    .help("config files are regular text files; move it out of the config directory")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `text` to `rel` under `root`, creating folders.
    fn write_file(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    #[test]
    fn load_finds_config_files_in_order_and_skips_hidden_and_stack_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let write = |rel: &str, text: &str| write_file(root, rel, text);
        write("b.yaml", "kind: Space\nmetadata: {name: b}\n");
        write(
            "a/z.yml",
            "kind: Space\nmetadata: {name: z}\n---\nkind: Space\nmetadata: {name: y}\n",
        );
        write(".cordium/x.yaml", "not: [loaded");
        write(".hidden/x.yaml", "not: [loaded");
        write("cordium.yaml", "stack: {name: p}\n");
        write("notes.txt", "ignored");
        let loaded = load(root, &LoadOptions::default());
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        let names: Vec<String> = loaded
            .docs
            .iter()
            .filter_map(|d| d.node.get("metadata")?.get("name")?.as_str().map(str::to_string))
            .collect();
        assert_eq!(names, ["z", "y", "b"]);
        let paths: Vec<String> =
            loaded.docs.iter().map(|d| loaded.sources.path(d.file).display().to_string()).collect();
        // Outside the working directory, files are named absolutely.
        let root = root.display().to_string();
        let want: Vec<String> =
            ["a/z.yml", "a/z.yml", "b.yaml"].iter().map(|p| format!("{root}/{p}")).collect();
        assert_eq!(paths, want);
    }

    #[test]
    fn files_named_by_from_file_and_var_files_are_never_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let write = |rel: &str, text: &str| write_file(root, rel, text);
        write(
            "main.hcl",
            "space \"ml\" {}\nsecret \"tok\" {\n  space     = space.ml\n  from_file = \"keys/tok.yaml\"\n}\n",
        );
        write("keys/tok.yaml", "s3cret: [unclosed\n");
        write("vars.yaml", "branch: s3cret\n");
        let opts = LoadOptions {
            vars: vec![VarArg::File(root.join("vars.yaml"))],
            ..LoadOptions::default()
        };
        let loaded = load(root, &opts);
        let text = format!("{:?}", loaded.diagnostics);
        assert!(!text.contains("s3cret") && !text.contains("tok.yaml:"), "{text}");
        assert_eq!(loaded.docs.len(), 2);
        for i in 0..loaded.sources.len() {
            let id = FileId(i as u32);
            assert!(
                !loaded.sources.text(id).contains("s3cret: ["),
                "{:?}",
                loaded.sources.path(id)
            );
        }
    }

    /// Enough YAML to be parsed on several threads: documents, diagnostics and file numbers are
    /// those of reading one file after another (a `specFrom` file numbered right after the file
    /// that names it).
    #[test]
    fn many_yaml_files_load_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for f in 0..8 {
            let mut text = String::new();
            for i in 0..1000 {
                text.push_str(&format!("kind: Space\nmetadata: {{name: s{f}-{i}}}\n---\n"));
            }
            if f == 3 {
                text.push_str(
                    "kind: Template\nmetadata: {name: t.s3-0}\nspecFrom: spec/t.yaml\n---\n",
                );
            }
            if f == 5 {
                text.push_str("a: [unclosed\n");
            }
            write_file(root, &format!("f{f}.yaml"), &text);
        }
        write_file(root, "spec/t.yaml", "spec:\n  image: {registry: {url: python}}\n");
        let loaded = load(root, &LoadOptions::default());
        let codes: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["yaml-syntax"], "{:?}", loaded.diagnostics);
        let paths: Vec<String> = (0..loaded.sources.len())
            .map(|i| loaded.sources.path(FileId(i as u32)).display().to_string())
            .map(|p| p.rsplit('/').next().unwrap_or_default().to_string())
            .collect();
        let want = ["f0.yaml", "f1.yaml", "f2.yaml", "f3.yaml", "t.yaml", "f4.yaml", "f5.yaml"];
        assert_eq!(paths[..7], want, "{paths:?}");
        // The spec file is also read as a config file (a bare spec, which the model skips).
        assert_eq!(paths[7..], ["f6.yaml", "f7.yaml", "t.yaml"]);
        assert_eq!(loaded.docs.len(), 8 * 1000 + 2);
        let names: Vec<String> = loaded
            .docs
            .iter()
            .filter_map(|d| d.node.get("metadata")?.get("name")?.as_str().map(str::to_string))
            .collect();
        assert_eq!(names[0], "s0-0");
        assert_eq!(names[3000..3002], ["s3-0", "s3-1"]);
        assert_eq!(names[4000], "t.s3-0");
        assert_eq!(names[4001], "s4-0");
        assert!(loaded.docs.windows(2).all(|w| w[0].file <= w[1].file));
    }

    #[test]
    fn a_missing_root_is_a_diagnostic_without_a_span() {
        let loaded = load(Path::new("/no/such/cordium/dir"), &LoadOptions::default());
        let d = loaded.diagnostics.iter().next().expect("one diagnostic");
        assert_eq!(d.code, "config-dir");
        assert!(d.span.is_none());
    }
}
