//! The runtime's layering, checked: imports point down, never up, and no
//! modules import each other (ARCHITECTURE.md, "Layers").
//!
//! Reads `runtime/src` and collects every `crate::module` path outside
//! comments and `#[cfg(test)]` modules. Each top-level module belongs to one
//! layer; a module may use its own layer's modules and the layers below.
//! Within a layer, and between the files of one module, the import graph has
//! no cycle.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

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
            "address",
            "handoff",
        ],
    ),
    ("executor", &["executor"]),
    ("resolver", &["resolver"]),
    ("transport", &["rt", "transport"]),
    ("call", &["call"]),
    ("channel", &["channel"]),
    (
        "stub",
        &[
            "stub",
            "completion_queue",
            "codegen",
            "codegen_support",
            "prelude",
            "fuzzing",
        ],
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

/// Every `crate::a::b::c` path in `code`, as its top-level module (`a`)
/// and its lowercase segments (`["a", "b", "c"]`).
fn crate_paths(code: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let mut segments = Vec::new();
        for segment in rest.split("::") {
            let end = segment
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(segment.len());
            let name = &segment[..end];
            if !name.chars().next().is_some_and(|c| c.is_lowercase()) {
                break;
            }
            segments.push(name.to_string());
            if end < segment.len() {
                break;
            }
        }
        if let Some(top) = segments.first() {
            found.push((top.clone(), segments));
        }
    }
    found
}

/// `code` with `super::` paths written from the crate root, so that
/// `use super::reader::x` in `call/h2/pump.rs` reads
/// `crate::call::h2::reader::x`. (`module` is `call/h2` for
/// `call/h2/mod.rs`, `call/h2/pump` for `call/h2/pump.rs`: either way its
/// parent is `super`.)
fn absolute_paths(code: &str, module: &str) -> String {
    let mut parent: Vec<&str> = module.split('/').collect();
    parent.pop();
    let prefix = if parent.is_empty() {
        "crate::".to_string()
    } else {
        format!("crate::{}::", parent.join("::"))
    };
    code.replace("super::", &prefix)
}

/// The deepest file module a path names: `call/h2/pump` for
/// `crate::call::h2::pump::x`, `call` for `crate::call::ClientCall`.
fn file_module(segments: &[String], modules: &BTreeSet<String>) -> String {
    (1..=segments.len())
        .rev()
        .map(|n| segments[..n].join("/"))
        .find(|path| modules.contains(path))
        .unwrap_or_else(|| segments[0].clone())
}

struct Graph {
    /// file module path → the crate paths it uses, as (top-level module,
    /// file module).
    uses: BTreeMap<String, Vec<(String, String)>>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_path(&src, f)).collect();
    let mut uses = BTreeMap::new();
    for file in files {
        let module = module_path(&src, &file);
        if module == "lib" {
            continue;
        }
        let code = absolute_paths(&code_of(&fs::read_to_string(&file).unwrap()), &module);
        let paths = crate_paths(&code)
            .into_iter()
            .map(|(top, segments)| (top, file_module(&segments, &modules)))
            .collect();
        uses.insert(module, paths);
    }
    Graph { uses }
}

fn top(module: &str) -> &str {
    module.split('/').next().unwrap()
}

/// The groups of nodes that import each other (strongly connected
/// components of more than one node), each sorted.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reaches = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(node) = stack.pop() {
            for next in edges.get(&node).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> =
        edges.keys().map(|node| (node, reaches(node))).collect();
    let mut groups: BTreeSet<Vec<String>> = BTreeSet::new();
    for (node, reached) in &reach {
        let group: Vec<String> = reached
            .iter()
            .filter(|other| reach.get(other).is_some_and(|back| back.contains(*node)))
            .cloned()
            .collect();
        if group.len() > 1 {
            groups.insert(group);
        }
    }
    groups.into_iter().collect()
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
    assert_eq!(
        cycles(&edges),
        Vec::<Vec<String>>::new(),
        "modules that import each other"
    );
}

#[test]
fn files_of_one_module_import_no_cycle() {
    // Between sibling files of one directory module: a parent `mod.rs`
    // declares its children and may use them, and they may use it.
    let graph = graph();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, uses) in &graph.uses {
        for (_, used) in uses {
            let is_sibling = used != module
                && top(used) == top(module)
                && used.contains('/')
                && graph.uses.contains_key(used)
                && !module.starts_with(&format!("{used}/"))
                && !used.starts_with(&format!("{module}/"));
            if is_sibling && module.contains('/') {
                edges
                    .entry(module.clone())
                    .or_default()
                    .insert(used.clone());
            }
        }
    }
    assert_eq!(
        cycles(&edges),
        Vec::<Vec<String>>::new(),
        "files that import each other"
    );
}
