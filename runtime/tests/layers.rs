//! The runtime's layering, checked: imports point down, never up, and no
//! modules import each other (ARCHITECTURE.md, "Layers").
//!
//! Reads `runtime/src` and collects every `crate::module` path outside
//! comments and `#[cfg(test)]` modules. Each top-level module belongs to one
//! layer; a module may use its own layer's modules and the layers below.
//! Within a layer, and between the files of one module, the import graph has
//! no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, bottom first, and the top-level modules in each.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "data",
        &[
            "sync",
            "wake_batch",
            "user_code",
            "metadata",
            "status",
            "wire",
            "deadline",
            "method",
            "compression",
            "codec",
            "interceptor",
            "options",
        ],
    ),
    ("executor", &["executor"]),
    ("transport", &["rt", "transport"]),
    ("call", &["call"]),
    ("channel", &["channel"]),
    (
        "stub",
        &["stub", "codegen", "codegen_support", "prelude", "fuzzing"],
    ),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// A source file's module path relative to `src`, e.g. `call/h2/reader`.
fn module_path(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let text = relative.to_string_lossy().replace('\\', "/");
    text.strip_suffix("/mod").unwrap_or(&text).to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its `#[cfg(test)]`
/// module (tests may reach anywhere).
fn code_of(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod tests"))
        {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// Every `crate::a::b` path in `code`, as (`a`, `a/b`).
fn crate_paths(code: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let segments: Vec<&str> = rest
            .split("::")
            .take(2)
            .map(|s| {
                let end = s
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(s.len());
                &s[..end]
            })
            .collect();
        let top = segments[0].to_string();
        if top.is_empty() {
            continue;
        }
        let second = segments
            .get(1)
            .filter(|s| s.chars().next().is_some_and(|c| c.is_lowercase()))
            .map(|s| format!("{top}/{s}"))
            .unwrap_or_else(|| top.clone());
        found.push((top, second));
    }
    found
}

struct Graph {
    /// file module path → the crate paths it uses.
    uses: BTreeMap<String, Vec<(String, String)>>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut uses = BTreeMap::new();
    for file in files {
        let module = module_path(&src, &file);
        if module == "lib" {
            continue;
        }
        let code = code_of(&fs::read_to_string(&file).unwrap());
        uses.insert(module, crate_paths(&code));
    }
    Graph { uses }
}

fn top(module: &str) -> &str {
    module.split('/').next().unwrap()
}

/// A cycle in `edges`, if there is one, as the list of nodes on it.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            return Some(path[at..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, edges, &mut done, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn every_module_has_a_layer() {
    let graph = graph();
    let unknown: BTreeSet<&str> = graph
        .uses
        .keys()
        .map(|m| top(m))
        .filter(|m| layer_of(m).is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "modules with no layer in tests/layers.rs: {unknown:?}"
    );
}

#[test]
fn no_import_points_up() {
    let graph = graph();
    let mut upward = Vec::new();
    for (module, uses) in &graph.uses {
        let Some(own) = layer_of(top(module)) else {
            continue;
        };
        for (used, _) in uses {
            match layer_of(used) {
                Some(layer) if layer > own => upward.push(format!(
                    "{module} ({}) uses crate::{used} ({})",
                    LAYERS[own].0, LAYERS[layer].0
                )),
                _ => {}
            }
        }
    }
    upward.sort();
    upward.dedup();
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}

#[test]
fn top_level_modules_import_no_cycle() {
    let graph = graph();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, uses) in &graph.uses {
        let from = top(module).to_string();
        for (used, _) in uses {
            if *used != from && layer_of(used).is_some() {
                edges.entry(from.clone()).or_default().insert(used.clone());
            }
        }
    }
    assert_eq!(find_cycle(&edges), None, "modules that import each other");
}

#[test]
fn files_of_one_module_import_no_cycle() {
    // Between sibling files (not a parent `mod.rs`, which declares and
    // re-exports its children).
    let graph = graph();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, uses) in &graph.uses {
        for (_, used) in uses {
            let is_sibling = used != module
                && top(used) == top(module)
                && used.contains('/')
                && graph.uses.contains_key(used)
                && !module.starts_with(&format!("{used}/"));
            if is_sibling && module.contains('/') {
                edges
                    .entry(module.clone())
                    .or_default()
                    .insert(used.clone());
            }
        }
    }
    assert_eq!(find_cycle(&edges), None, "files that import each other");
}
