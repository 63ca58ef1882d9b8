//! The house has floors: no source file of `compiler/src` or `runtime/src` reaches itself through
//! the files it imports. An import circle means two rooms each lean on the other, so neither can
//! be understood, tested or moved alone (`ARCHITECTURE.md`, invariants).
//!
//! Read from the code: every `crate::a::b` and `super::a` path outside tests is resolved to the
//! file that defines it (the longest path prefix that is a file: `a/b.rs`, `a/b/mod.rs`, `a.rs`),
//! and the file graph is searched for a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src`, without test folders and test files.
fn sources(src: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() && name != "tests" {
                stack.push(path);
            } else if name.ends_with(".rs") && name != "tests.rs" {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The module path of a file: `src/a/b.rs` and `src/a/b/mod.rs` are `[a, b]`; `lib.rs` is `[]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The code before the file's `#[cfg(test)]` module, if any (tests may import anything).
fn production_code(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod ").map_or(text, |i| &text[..i])
}

/// The module paths a file names: `crate::x::y` and `super::x` (any depth of `super`).
fn named_paths(text: &str, here: &[String], is_mod_file: bool) -> Vec<Vec<String>> {
    let mut out = vec![];
    let bytes = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = text[from..].find(start).map(|i| i + from) {
            from = i + start.len();
            if i > 0 && (word(bytes[i - 1]) || bytes[i - 1] == b':') {
                continue;
            }
            // `super` is the parent of the file's module (a mod.rs file is its folder's module).
            let mut base: Vec<String> = if start == "crate::" { vec![] } else { here.to_vec() };
            let mut rest = &text[i + start.len()..];
            if start == "super::" {
                if !is_mod_file || here.is_empty() {
                    base.pop();
                }
                while let Some(r) = rest.strip_prefix("super::") {
                    base.pop();
                    rest = r;
                }
            }
            let segments = rest
                .split("::")
                .map(|s| s.chars().take_while(|&c| c.is_alphanumeric() || c == '_').collect::<String>());
            for s in segments {
                if s.is_empty() || !s.starts_with(|c: char| c.is_ascii_lowercase()) {
                    break;
                }
                base.push(s);
            }
            // `use super::{a, b}`: the braces name children of `base`.
            let after =
                &rest[rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len())..];
            if let Some(list) = after.strip_prefix('{') {
                for item in list[..list.find('}').unwrap_or(list.len())].split(',') {
                    let name = item.trim().split("::").next().unwrap_or("").trim();
                    if name.starts_with(|c: char| c.is_ascii_lowercase()) && name != "self" {
                        out.push([base.clone(), vec![name.to_string()]].concat());
                    }
                }
            }
            out.push(base);
        }
    }
    out
}

/// The file a module path lives in: its longest prefix that is a file of the crate.
fn file_of(modules: &BTreeMap<Vec<String>, PathBuf>, path: &[String]) -> Option<PathBuf> {
    (0..=path.len()).rev().find_map(|n| modules.get(&path[..n]).cloned())
}

fn cycle(src: &Path) -> Option<Vec<PathBuf>> {
    let files = sources(src);
    let modules: BTreeMap<Vec<String>, PathBuf> = files.iter().map(|f| (module_of(src, f), f.clone())).collect();
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let here = module_of(src, f);
        let is_mod = matches!(f.file_name().unwrap().to_str(), Some("mod.rs" | "lib.rs" | "main.rs"));
        for path in named_paths(production_code(&text), &here, is_mod) {
            if let Some(to) = file_of(&modules, &path) {
                // A module names its own children (`pub mod x;`): the parent is not their import.
                let parent_of_target = module_of(src, &to).starts_with(&here) && is_mod;
                if &to != f && !parent_of_target {
                    edges.entry(f.clone()).or_default().insert(to);
                }
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        f: &PathBuf,
        edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        state: &mut BTreeMap<PathBuf, u8>,
        stack: &mut Vec<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        state.insert(f.clone(), 1);
        stack.push(f.clone());
        for to in edges.get(f).into_iter().flatten() {
            match state.get(to) {
                Some(1) => return Some(stack[stack.iter().position(|s| s == to).unwrap()..].to_vec()),
                Some(_) => {}
                None => {
                    if let Some(c) = visit(to, edges, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(f.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    files.iter().find_map(|f| if state.contains_key(f) { None } else { visit(f, &edges, &mut state, &mut vec![]) })
}

#[test]
fn no_source_file_imports_itself_through_others() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for krate in ["compiler", "runtime"] {
        let src = root.join(krate).join("src");
        assert!(sources(&src).len() > 10, "{krate}: too few files read");
        if let Some(c) = cycle(&src) {
            let names: Vec<String> = c.iter().map(|p| p.strip_prefix(&root).unwrap().display().to_string()).collect();
            panic!("{krate}: import circle {}", names.join(" -> "));
        }
    }
}

/// The reader finds a circle where there is one (a test of the test).
#[test]
fn a_circle_is_found() {
    let dir = std::env::temp_dir().join(format!("zkonnx-floors-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::write(dir.join("lib.rs"), "pub mod a;\npub mod b;\n").unwrap();
    std::fs::write(dir.join("a/mod.rs"), "pub mod x;\npub struct Z;\nuse crate::b::Thing;\n").unwrap();
    std::fs::write(dir.join("a/x.rs"), "use super::Z;\npub struct Y;\n").unwrap();
    // b names a/x.rs only: no circle yet (a/mod.rs -> b.rs -> a/x.rs -> a/mod.rs? x names its
    // parent, which names b: a circle through the parent).
    std::fs::write(dir.join("b.rs"), "pub struct Thing;\n").unwrap();
    assert_eq!(cycle(&dir), None, "b imports nothing");
    std::fs::write(dir.join("b.rs"), "use super::a::x::Y;\npub struct Thing;\n").unwrap();
    let found = cycle(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    let names: Vec<String> =
        found.expect("a/mod.rs -> b.rs -> a/x.rs -> a/mod.rs").iter().map(|p| p.display().to_string()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

/// The other crates use the compiler through its face (`lib.rs`): none names the modules of the
/// circuit's insides or of its chips, which can then change without them.
#[test]
fn no_other_crate_names_the_circuits_insides() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut read = 0;
    for krate in ["runtime/src", "cli/src", "python/src"] {
        let src = root.join(krate);
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    read += 1;
                    let text = std::fs::read_to_string(&path).unwrap();
                    for inside in ["compiler::circuit", "compiler::chips"] {
                        assert!(!text.contains(inside), "{} names {inside}", path.display());
                    }
                }
            }
        }
    }
    assert!(read > 15, "too few files read: {read}");
}
