//! No import circles between the modules of a crate.
//!
//! Two modules that import each other are one module in two files: neither
//! can be read, tested or changed alone. The test at the bottom keeps
//! `daemon/src` and `ui/src` free of them, so `cargo test` fails the day a
//! change ties two modules together.
//!
//! A module here is one file. It depends on another when its code (tests
//! left out) names a path into it, `crate::a::b` or `super::b`, in a `use`
//! or inline; a `use` group (`crate::a::{b, c}`) names each of its items.
//! A path resolves to the longest module it starts with. An edge counts
//! between the sibling subtrees that hold its ends (a module and its own
//! submodules are one design, whichever names the other; `account/device`
//! naming `events` is `account` naming `events`). Tarjan's algorithm then
//! finds the strongly connected components: any with more than one module
//! is a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module: its path from the crate root (`["playback", "run"]`).
type Module = Vec<String>;

/// The circles among the modules under `src`, each as its modules'
/// paths (`playback/run`), sorted; empty when there are none.
pub fn circles(src: &Path) -> std::io::Result<Vec<Vec<String>>> {
    let mut files = BTreeMap::new();
    collect(src, src, &mut files)?;
    let modules: BTreeSet<Module> = files.keys().cloned().collect();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (m, text) in &files {
        for target in dependencies(m, text, &modules) {
            if let Some((from, to)) = lift(m, &target) {
                edges.entry(from).or_default().insert(to);
            }
        }
    }
    Ok(Tarjan::new(&edges)
        .components()
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let mut names: Vec<String> = c.iter().map(|m| m.join("/")).collect();
            names.sort();
            names
        })
        .collect())
}

/// The edge `from` → `to` between the two sibling subtrees that hold
/// them: `account/device` naming `events` is `account` naming `events`.
/// `None` inside one subtree: a module and its own submodules are one
/// design, whichever names the other.
fn lift(from: &Module, to: &Module) -> Option<(Module, Module)> {
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    if common == from.len() || common == to.len() {
        return None;
    }
    Some((from[..=common].to_vec(), to[..=common].to_vec()))
}

/// Reads every `.rs` file under `dir` (binaries in `bin/` are crates of
/// their own) into `files`, by module path.
fn collect(src: &Path, dir: &Path, files: &mut BTreeMap<Module, String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "bin") {
                collect(src, &path, files)?;
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path.strip_prefix(src).unwrap_or(&path).with_extension("");
        let mut module: Module = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if module
            .last()
            .is_some_and(|l| ["mod", "lib", "main"].contains(&l.as_str()))
        {
            module.pop();
        }
        files.insert(module, std::fs::read_to_string(&path)?);
    }
    Ok(())
}

/// The modules `module`'s code names, itself left out.
fn dependencies(module: &Module, text: &str, modules: &BTreeSet<Module>) -> BTreeSet<Module> {
    // Unit tests may reach anywhere; they are not part of the design.
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let code: String = code
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    // Paths may also start at a child module (`device::Code`, since Rust
    // 2018) or at `self`.
    let mut starts = vec![
        "crate::".to_owned(),
        "super::".to_owned(),
        "self::".to_owned(),
    ];
    starts.extend(children(&code).map(|c| format!("{c}::")));
    let mut found = BTreeSet::new();
    for (at, _) in starts.iter().flat_map(|s| code.match_indices(s.as_str())) {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        for path in paths_at(&code[at..]) {
            let Some(full) = absolute(module, &path) else {
                continue;
            };
            if let Some(target) = (1..=full.len())
                .rev()
                .map(|k| full[..k].to_vec())
                .find(|prefix| modules.contains(prefix))
                .filter(|t| t != module)
            {
                found.insert(target);
            }
        }
    }
    found
}

/// The modules `code` declares (`mod x;`, `pub mod x;`, `pub(crate) mod x;`).
fn children(code: &str) -> impl Iterator<Item = &str> {
    code.lines().filter_map(|l| {
        let l = l.trim();
        let l = l
            .strip_prefix("pub(crate) ")
            .or_else(|| l.strip_prefix("pub(super) "))
            .or_else(|| l.strip_prefix("pub "))
            .unwrap_or(l);
        l.strip_prefix("mod ")?.strip_suffix(';')
    })
}

/// The paths a `crate::…`/`super::…` at the start of `s` names: the path
/// itself, and with a `::{…}` group, the path joined to each item.
fn paths_at(s: &str) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut segments = Vec::new();
    let mut rest = s;
    loop {
        let end = rest.find(|c: char| !ident(c)).unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        segments.push(rest[..end].to_owned());
        rest = &rest[end..];
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => break,
        }
    }
    let mut paths = vec![segments.clone()];
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 0;
        let close = group
            .find(|c| {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => return true,
                    '}' => depth -= 1,
                    _ => {}
                }
                false
            })
            .unwrap_or(group.len());
        for item in group[..close].split(',') {
            let item: Vec<String> = item
                .trim()
                .split("::")
                .map(|p| p.trim_matches(|c: char| !ident(c)).to_owned())
                .take_while(|p| !p.is_empty() && p != "self")
                .collect();
            if !item.is_empty() {
                paths.push([segments.clone(), item].concat());
            }
        }
    }
    paths
}

/// `path` (starting with `crate`, `self`, `super` or a child module's
/// name) from the crate root, seen
/// from `module`; `None` when it climbs above the root.
fn absolute(module: &Module, path: &[String]) -> Option<Module> {
    let mut at = module.clone();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            at.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().is_some_and(|p| p == "super") {
                at.pop()?;
                rest = &rest[1..];
            }
        }
        // A child module's name.
        _ => {}
    }
    Some([at, rest.to_vec()].concat())
}

/// Tarjan's strongly connected components.
struct Tarjan<'a> {
    edges: &'a BTreeMap<Module, BTreeSet<Module>>,
    index: BTreeMap<&'a Module, (usize, usize)>,
    stack: Vec<&'a Module>,
    on_stack: BTreeSet<&'a Module>,
    components: Vec<Vec<&'a Module>>,
}

impl<'a> Tarjan<'a> {
    fn new(edges: &'a BTreeMap<Module, BTreeSet<Module>>) -> Self {
        Self {
            edges,
            index: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            components: Vec::new(),
        }
    }

    fn components(mut self) -> Vec<Vec<&'a Module>> {
        for m in self.edges.keys() {
            if !self.index.contains_key(m) {
                self.visit(m);
            }
        }
        self.components
    }

    fn visit(&mut self, v: &'a Module) {
        let n = self.index.len();
        self.index.insert(v, (n, n));
        self.stack.push(v);
        self.on_stack.insert(v);
        for w in self.edges.get(v).into_iter().flatten() {
            if !self.index.contains_key(w) {
                self.visit(w);
                let low = self.index[w].1;
                self.lower(v, low);
            } else if self.on_stack.contains(w) {
                let low = self.index[w].0;
                self.lower(v, low);
            }
        }
        let (index, low) = self.index[v];
        if index == low {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack.remove(w);
                component.push(w);
                if w == v {
                    break;
                }
            }
            self.components.push(component);
        }
    }

    fn lower(&mut self, v: &'a Module, low: usize) {
        if let Some(e) = self.index.get_mut(v) {
            e.1 = e.1.min(low);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::root;

    #[test]
    fn the_daemon_and_the_ui_have_no_import_circles() {
        for krate in ["daemon/src", "ui/src"] {
            let found = circles(&root().join(krate)).expect("read the sources");
            assert!(
                found.is_empty(),
                "{krate}: modules import each other in circles: {found:?}"
            );
        }
    }

    #[test]
    fn a_circle_through_a_use_group_and_super_is_found() {
        let dir = std::env::temp_dir().join(format!("circles-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("engine")).expect("dir");
        let files = [
            ("lib.rs", "pub mod engine;\npub mod ids;\n"),
            ("ids.rs", "pub fn new() {}\n"),
            (
                "engine/mod.rs",
                "pub mod run;\npub mod start;\npub use run::Run;\n",
            ),
            // run -> start through a group, start -> run through super.
            (
                "engine/run.rs",
                "use super::{start::Start, x};\nuse crate::ids;\npub struct Run;\n",
            ),
            ("engine/start.rs", "pub struct Start(super::run::Run);\n"),
        ];
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("write");
        }
        let found = circles(&dir).expect("read");
        std::fs::remove_dir_all(&dir).expect("clean up");
        assert_eq!(found, vec![vec!["engine/run", "engine/start"]]);
        // `engine` names its child `run`, which does not name `engine`:
        // no circle there.
    }

    #[test]
    fn paths_in_comments_and_tests_do_not_count() {
        let modules: BTreeSet<Module> = [vec!["a".to_owned()], vec!["b".to_owned()]].into();
        let text = "// see crate::b\nfn f() {}\n#[cfg(test)]\nmod tests { use crate::b; }\n";
        assert!(dependencies(&vec!["a".to_owned()], text, &modules).is_empty());
        let text = "fn f() { crate::b::g() }";
        assert_eq!(dependencies(&vec!["a".to_owned()], text, &modules).len(), 1);
    }
}
