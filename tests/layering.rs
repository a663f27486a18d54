//! The crate's modules form layers: no module imports, directly or through
//! others, a module that imports it back. Checked on the sources, so that
//! a change that adds a cycle fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Top-level module of a source file: `src/x.rs` or `src/x/...` is `x`.
fn module_of(path: &Path, src: &Path) -> Option<String> {
    let rel = path.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib").then_some(name)
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `crate::name` references outside comments.
fn references(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
        }
    }
    found
}

#[test]
fn modules_have_no_import_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // Items the root re-exports, by the module that defines them.
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let mut reexports = BTreeMap::new();
    for stmt in lib.split(';') {
        let stmt = stmt.trim();
        let Some(path) = stmt.strip_prefix("pub use crate::") else {
            continue;
        };
        let (module, items) = path.split_once("::").unwrap();
        let module = module.to_string();
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            let item = item.trim().rsplit("::").next().unwrap().trim().to_string();
            if !item.is_empty() {
                reexports.insert(item, module.clone());
            }
        }
    }
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(f, &src)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(from) = module_of(file, &src) else {
            continue;
        };
        let code = fs::read_to_string(file).unwrap();
        let edges = graph.entry(from.clone()).or_default();
        for name in references(&code) {
            let to = if modules.contains(&name) {
                name
            } else if let Some(m) = reexports.get(&name) {
                m.clone()
            } else {
                continue;
            };
            if to != from {
                edges.insert(to);
            }
        }
    }
    // Kahn's algorithm: peel off modules that import nothing left.
    let mut left = graph.clone();
    let mut layers = Vec::new();
    while !left.is_empty() {
        let ready: Vec<String> = left
            .iter()
            .filter(|(_, deps)| deps.iter().all(|d| !left.contains_key(d)))
            .map(|(m, _)| m.clone())
            .collect();
        assert!(
            !ready.is_empty(),
            "import cycle among {:?}",
            left.iter()
                .map(|(m, d)| format!("{m} -> {d:?}"))
                .collect::<Vec<_>>()
        );
        for m in &ready {
            left.remove(m);
        }
        layers.push(ready);
    }
    // The connection is built on everything else; on it sit the blocking
    // driver, the `http` feature's handshakes (which make connections) and
    // the testing toolkit, which drives connections.
    let n = layers.len();
    let mut top = layers[n - 1].clone();
    top.sort();
    assert_eq!(
        top,
        [
            "blocking".to_string(),
            "http".to_string(),
            "testing".to_string()
        ]
    );
    assert_eq!(layers[n - 2], ["connection".to_string()]);
    for (i, layer) in layers.iter().enumerate() {
        println!("layer {i}: {}", layer.join(", "));
    }
}
