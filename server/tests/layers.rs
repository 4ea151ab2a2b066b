//! The server's stairs go one way: every `crate::…` path a module names must belong to its own
//! layer or a lower one, as the layer table of `docs/ARCHITECTURE.md` says. The table is read from
//! the document itself, so the picture and the check cannot drift apart.
//!
//! A break is named with its file and line. A second check finds import cycles between the
//! table's modules (on one floor they may use each other, but not in a circle).
#![expect(
    clippy::expect_used,
    reason = "a test: an unreadable source tree should stop it loudly"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A layer: its rank (higher may use lower) and the module paths it holds.
struct Table {
    /// module path (`rules::engine`, `api`) → (rank, layer name)
    modules: BTreeMap<String, (usize, String)>,
}

impl Table {
    /// Reads the rows `| rank | name | `mod`, `mod::sub` |` under `## Layers`.
    fn from_architecture(doc: &str) -> Table {
        let section = doc
            .split("\n## Layers")
            .nth(1)
            .expect("docs/ARCHITECTURE.md has a '## Layers' section");
        let section = section.split("\n## ").next().unwrap_or(section);
        let mut modules = BTreeMap::new();
        for line in section.lines() {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
            let Some(rank) = cells.first().and_then(|c| c.trim().parse::<usize>().ok()) else {
                continue;
            };
            let name = cells.get(1).map_or("", |c| c.trim()).to_owned();
            let listed = cells.get(2).copied().unwrap_or("");
            for m in listed.split('`').skip(1).step_by(2) {
                let previous = modules.insert(m.to_owned(), (rank, name.clone()));
                assert!(previous.is_none(), "module `{m}` is in two layers");
            }
        }
        assert!(modules.len() > 5, "the layer table lists too few modules");
        Table { modules }
    }

    /// The layer of a module path: its longest listed prefix.
    fn layer_of(&self, path: &str) -> Option<(usize, &str, &str)> {
        let segments: Vec<&str> = path.split("::").collect();
        (1..=segments.len()).rev().find_map(|n| {
            let prefix = segments[..n].join("::");
            self.modules
                .get_key_value(&prefix)
                .map(|(k, (rank, name))| (*rank, name.as_str(), k.as_str()))
        })
    }
}

/// One `crate::…` reference: where it stands and what it names.
struct Reference {
    file: PathBuf,
    line: usize,
    module: String,
    target: String,
}

fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("file under src");
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::a::b` in code (comments dropped), with `use crate::{a, b::c}` groups expanded.
fn references(src: &Path, file: &Path) -> Vec<Reference> {
    let text = std::fs::read_to_string(file).expect("readable source file");
    let module = module_of(src, file);
    let mut out = Vec::new();
    let mut group: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or("");
        let mut push = |target: String| {
            out.push(Reference {
                file: file.to_path_buf(),
                line: i + 1,
                module: module.clone(),
                target,
            });
        };
        if let Some(g) = group.as_mut() {
            g.push_str(line);
            if line.contains(';') {
                for item in expand_group(g) {
                    push(item);
                }
                group = None;
            }
            continue;
        }
        if let Some(rest) = line.trim().strip_prefix("use crate::{") {
            if line.contains(';') {
                for item in expand_group(rest) {
                    push(item);
                }
            } else {
                group = Some(rest.to_owned());
            }
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let path: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let path = path.trim_end_matches(':').to_owned();
            if !path.is_empty() {
                push(path);
            }
            rest = after;
        }
    }
    out
}

/// The first segments of each item of a `use crate::{…}` group (enough to find its layer).
fn expand_group(group: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in group.chars() {
        match c {
            '{' => {
                depth += 1;
                current.push(c);
            }
            '}' if depth == 0 => break,
            '}' => {
                depth -= 1;
                current.push(c);
            }
            ',' if depth == 0 => items.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    items.push(current);
    items
        .into_iter()
        .map(|i| {
            i.split("::{")
                .next()
                .unwrap_or("")
                .split(" as ")
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .filter(|i| !i.is_empty() && i != "self")
        .collect()
}

/// The crate's directory, its `src`, the layer table and every source file.
fn tree() -> (&'static Path, PathBuf, Table, Vec<PathBuf>) {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = manifest.join("src");
    let doc = std::fs::read_to_string(manifest.join("../docs/ARCHITECTURE.md"))
        .expect("docs/ARCHITECTURE.md");
    let table = Table::from_architecture(&doc);
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    (manifest, src, table, files)
}

#[test]
fn every_module_imports_only_its_own_layer_or_lower_ones() {
    let (manifest, src, table, files) = tree();
    let mut unplaced = BTreeSet::new();
    let mut report = String::new();
    for file in &files {
        for r in references(&src, file) {
            let Some((from_rank, from_name, from_key)) = table.layer_of(&r.module) else {
                unplaced.insert(r.module.clone());
                continue;
            };
            let Some((to_rank, to_name, to_key)) = table.layer_of(&r.target) else {
                unplaced.insert(format!("{} (named in {})", r.target, r.module));
                continue;
            };
            if to_rank <= from_rank {
                continue;
            }
            let _ = writeln!(
                report,
                "{}:{}: `{}` ({from_name}, layer {from_rank}) uses `crate::{}` ({to_name}, layer {to_rank}); `{from_key}` may not use `{to_key}`",
                r.file.strip_prefix(manifest).unwrap_or(&r.file).display(),
                r.line,
                r.module,
                r.target,
            );
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules missing from the layer table of docs/ARCHITECTURE.md: {unplaced:?}"
    );
    assert!(
        report.is_empty(),
        "imports that climb the stairs (move the code down, or the import up):\n{report}"
    );
}

/// The table's modules and who uses whom (`rules::engine` → `webhooks`), each edge with one
/// place that makes it.
fn module_graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let (manifest, src, table, files) = tree();
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in &files {
        for r in references(&src, file) {
            let (Some((_, _, from)), Some((_, _, to))) =
                (table.layer_of(&r.module), table.layer_of(&r.target))
            else {
                continue;
            };
            if from != to {
                let at = format!(
                    "{}:{}",
                    r.file.strip_prefix(manifest).unwrap_or(&r.file).display(),
                    r.line
                );
                graph
                    .entry(from.to_owned())
                    .or_default()
                    .entry(to.to_owned())
                    .or_insert(at);
            }
        }
    }
    graph
}

/// A path from `from` to `to` along the graph's edges, if there is one.
fn path(
    graph: &BTreeMap<String, BTreeMap<String, String>>,
    from: &str,
    to: &str,
) -> Option<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![vec![from.to_owned()]];
    while let Some(p) = stack.pop() {
        let last = p.last().cloned().unwrap_or_default();
        for next in graph.get(&last).into_iter().flat_map(|e| e.keys()) {
            if next == to {
                let mut done = p.clone();
                done.push(next.clone());
                return Some(done);
            }
            if seen.insert(next.clone()) {
                let mut longer = p.clone();
                longer.push(next.clone());
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn no_two_modules_of_the_table_use_each_other_in_a_circle() {
    let graph = module_graph();
    let mut report = String::new();
    let mut named = BTreeSet::new();
    for (from, edges) in &graph {
        for (to, at) in edges {
            let Some(back) = path(&graph, to, from) else {
                continue;
            };
            let mut circle: Vec<String> = back.clone();
            circle.sort();
            if !named.insert(circle) {
                continue;
            }
            let _ = writeln!(report, "{from} -> {} (first at {at})", back.join(" -> "));
        }
    }
    assert!(
        report.is_empty(),
        "import cycles between modules:\n{report}"
    );
}

#[test]
fn grouped_use_items_are_split_at_the_top_level_only() {
    assert_eq!(
        expand_group("error::ApiError, rules::{model, load::x}, state::AppState};"),
        vec!["error::ApiError", "rules", "state::AppState"]
    );
}

#[test]
fn a_circle_is_found_and_a_line_is_not() {
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (from, to) in [("api", "auth"), ("auth", "state"), ("state", "db")] {
        graph
            .entry(from.into())
            .or_default()
            .insert(to.into(), "x.rs:1".into());
    }
    assert_eq!(path(&graph, "state", "api"), None);
    graph
        .entry("state".into())
        .or_default()
        .insert("api".into(), "y.rs:2".into());
    assert_eq!(
        path(&graph, "auth", "auth"),
        Some(vec![
            "auth".into(),
            "state".into(),
            "api".into(),
            "auth".into()
        ])
    );
    assert!(
        module_graph()
            .get("api")
            .is_some_and(|e| e.contains_key("auth"))
    );
}

/// The floor the table calls "pure" holds functions from facts to findings: its files name no
/// database, no HTTP, and no clock of their own (the engine passes `now`).
#[test]
fn the_pure_floor_names_no_database_http_or_clock() {
    let (manifest, src, table, files) = tree();
    let mut report = String::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some((_, name, _)) = table.layer_of(&module) else {
            continue;
        };
        if !name.contains("pure") {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("readable source file");
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in ["sqlx", "actix_web", "Utc::now", "SystemTime::now"] {
                if code.contains(word) {
                    let _ = writeln!(
                        report,
                        "{}:{}: `{module}` names `{word}`",
                        file.strip_prefix(manifest).unwrap_or(file).display(),
                        i + 1
                    );
                }
            }
        }
    }
    assert!(report.is_empty(), "the pure floor is not pure:\n{report}");
}
