//! `cargo xtask yocto-crates [--check]`: the crate list of the Yocto layer.
//!
//! BitBake builds offline after its fetch step, so every crate that cargo
//! will compile has to be in the recipes' `SRC_URI` as a
//! `crate://crates.io/<name>/<version>` entry, with the sha256 that
//! `Cargo.lock` already records. Yocto's own way to write that list is the
//! `cargo-update-recipe-crates` class (`bitbake -c update_crates <recipe>`),
//! which needs a bitbake build directory; this command writes the same
//! format from the workspace's `Cargo.lock` without one, into
//! [`INC`], which the `ottboxd`, `ottbox-ui` and `ottbox-headend` recipes
//! all `require` (they build from the same workspace and lock file).
//!
//! `--check` writes nothing and fails, naming the first line that differs,
//! when the committed file does not match `Cargo.lock`. CI runs that check
//! (`cargo xtask test`, stage "yocto layer"), and so does a unit test, so a
//! dependency bump cannot land with a layer that would fail to fetch.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::util::root;

/// The generated file, relative to the workspace root.
pub const INC: &str = "yocto/meta-ottbox/recipes-ottbox/ottbox/ottbox-crates.inc";

/// The `source` of a package from the crates.io index: the git index
/// (older cargo) and the sparse one (cargo 1.70+) name the same registry.
const CRATES_IO_SOURCES: [&str; 2] = [
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

/// The part of `Cargo.lock` that matters here.
#[derive(Debug, Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<Package>,
}

/// One `[[package]]` of `Cargo.lock`.
#[derive(Debug, Deserialize)]
struct Package {
    name: String,
    version: String,
    /// Absent for workspace members and path dependencies.
    source: Option<String>,
    /// Absent for workspace members (and in old lock formats).
    checksum: Option<String>,
}

/// Writes [`INC`] from `Cargo.lock`, or with `check`, only compares them.
pub fn run(check: bool) -> anyhow::Result<()> {
    if check {
        return self::check();
    }
    let expected = expected()?;
    let path = inc_path();
    if std::fs::read_to_string(&path).is_ok_and(|current| current == expected) {
        println!("yocto-crates: {INC} is up to date");
        return Ok(());
    }
    std::fs::write(&path, expected).with_context(|| format!("cannot write {}", path.display()))?;
    println!("yocto-crates: wrote {INC}");
    Ok(())
}

/// Fails, naming the first difference, unless [`INC`] matches `Cargo.lock`
/// (and the recipes' license checksum still covers the license line).
pub fn check() -> anyhow::Result<()> {
    check_license()?;
    let expected = expected()?;
    let path = inc_path();
    let current = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if let Some(difference) = first_difference(&expected, &current) {
        bail!(
            "{INC} does not match Cargo.lock ({difference}); \
             run `cargo xtask yocto-crates` and commit the result"
        );
    }
    println!("yocto-crates: {INC} matches Cargo.lock");
    Ok(())
}

/// The recipes' source include, which holds `LIC_FILES_CHKSUM`.
const SOURCE_INC: &str = "yocto/meta-ottbox/recipes-ottbox/ottbox/ottbox-source.inc";
/// The line of the workspace's Cargo.toml that `LIC_FILES_CHKSUM` covers
/// (the workspace ships no license text), and its md5 with the newline,
/// as bitbake computes it. The two change together, on purpose only.
const LICENSE_LINE: &str = "license = \"MIT OR Apache-2.0\"";
const LICENSE_LINE_MD5: &str = "86b31c7756a1a7962f28b62856ed4f05";

/// bitbake checks `LIC_FILES_CHKSUM` by line numbers: a line added above
/// `license` in Cargo.toml would fail every image build at do_populate_lic,
/// long after the change. This finds it in CI instead.
fn check_license() -> anyhow::Result<()> {
    let inc = std::fs::read_to_string(root().join(SOURCE_INC))
        .with_context(|| format!("cannot read {SOURCE_INC}"))?;
    let spec = inc
        .lines()
        .find_map(|l| l.strip_prefix("LIC_FILES_CHKSUM = \"file://Cargo.toml;"))
        .with_context(|| format!("{SOURCE_INC}: no LIC_FILES_CHKSUM on Cargo.toml"))?;
    let param = |name: &str| {
        spec.trim_end_matches('"')
            .split(';')
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .map(str::to_owned)
            .with_context(|| format!("{SOURCE_INC}: LIC_FILES_CHKSUM has no {name}"))
    };
    let (begin, end, md5) = (param("beginline")?, param("endline")?, param("md5")?);
    let toml = std::fs::read_to_string(root().join("Cargo.toml")).context("Cargo.toml")?;
    let line = toml.lines().nth(begin.parse::<usize>()?.saturating_sub(1));
    if begin != end || line != Some(LICENSE_LINE) || md5 != LICENSE_LINE_MD5 {
        let found = toml.lines().position(|l| l == LICENSE_LINE).map(|i| i + 1);
        bail!(
            "{SOURCE_INC}: LIC_FILES_CHKSUM covers Cargo.toml lines {begin}-{end} (md5 {md5}), \
             but `{LICENSE_LINE}` (md5 {LICENSE_LINE_MD5}) is on line {}; update the recipe",
            found.map_or("none".into(), |n| n.to_string())
        );
    }
    Ok(())
}

fn inc_path() -> PathBuf {
    root().join(INC)
}

/// The file as it should be for the workspace's `Cargo.lock`.
fn expected() -> anyhow::Result<String> {
    let lock = root().join("Cargo.lock");
    let text = std::fs::read_to_string(&lock)
        .with_context(|| format!("cannot read {}", lock.display()))?;
    render(&text).with_context(|| format!("{}", lock.display()))
}

/// The `.inc` for a `Cargo.lock`: every crates.io package with a checksum,
/// sorted by name, then version. Workspace members (no source) are the
/// recipes' own source and are skipped; a git or other-registry source is
/// an error, because a `crate://crates.io` line could not fetch it.
pub fn render(lock: &str) -> anyhow::Result<String> {
    let lock: Lock = toml::from_str(lock).context("not a Cargo.lock")?;
    let mut crates = Vec::new();
    for package in lock.package {
        let Some(source) = &package.source else {
            continue;
        };
        if !CRATES_IO_SOURCES.contains(&source.as_str()) {
            bail!(
                "{} {} comes from `{source}`: only crates.io packages can be listed \
                 (add a git SRC_URI for it to the recipes by hand)",
                package.name,
                package.version
            );
        }
        let Some(checksum) = package.checksum else {
            continue;
        };
        crates.push((package.name, package.version, checksum));
    }
    crates.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| version_order(&a.1, &b.1)));
    crates.dedup();

    let mut out = String::from(
        "# Generated by `cargo xtask yocto-crates` from the workspace's Cargo.lock:\n\
         # do not edit. `cargo xtask yocto-crates --check` (run by `cargo xtask test`)\n\
         # fails when this file and Cargo.lock disagree. The format is that of\n\
         # Yocto's cargo-update-recipe-crates class (without the class's\n\
         # leading space after `+=`, which oelint-adv flags and `+=` adds).\n\
         \n\
         SRC_URI += \"\\\n",
    );
    for (name, version, _) in &crates {
        out.push_str(&format!("    crate://crates.io/{name}/{version} \\\n"));
    }
    out.push_str("\"\n\n");
    for (name, version, checksum) in &crates {
        out.push_str(&format!(
            "SRC_URI[{name}-{version}.sha256sum] = \"{checksum}\"\n"
        ));
    }
    Ok(out)
}

/// Orders versions by their numeric parts (`0.9.0` before `0.10.0`), so
/// that two versions of one crate appear in the order cargo lists them.
fn version_order(a: &str, b: &str) -> Ordering {
    let parts = |v: &str| -> Vec<(u64, String)> {
        v.split(['.', '-', '+'])
            .map(|p| (p.parse().unwrap_or(u64::MAX), p.to_owned()))
            .collect()
    };
    parts(a).cmp(&parts(b))
}

/// The first line where `actual` differs from `expected`, described.
fn first_difference(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let mut want = expected.lines();
    let mut have = actual.lines();
    let mut line = 1;
    loop {
        match (want.next(), have.next()) {
            (Some(w), Some(h)) if w == h => line += 1,
            (Some(w), Some(h)) => {
                return Some(format!("line {line}: expected `{w}`, found `{h}`"));
            }
            (Some(w), None) => return Some(format!("line {line}: missing `{w}`")),
            (None, Some(h)) => return Some(format!("line {line}: unexpected `{h}`")),
            // Same lines, different line endings or final newline.
            (None, None) => return Some(format!("line {line}: line endings differ")),
        }
    }
}

/// The layer's directory, for the lint stage.
pub fn layer_dir() -> PathBuf {
    root().join("yocto/meta-ottbox")
}

/// Every recipe, append and class file under `dir`, sorted.
pub fn recipe_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "bb" || e == "bbappend" || e == "bbclass")
            {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "ottboxd"
version = "0.1.0"
dependencies = ["syn 2.0.1", "syn 1.0.109", "libc"]

[[package]]
name = "syn"
version = "2.0.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bbbb"

[[package]]
name = "syn"
version = "1.0.109"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aaaa"

[[package]]
name = "libc"
version = "0.2.10"
source = "sparse+https://index.crates.io/"
checksum = "cccc"

[[package]]
name = "no-checksum"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

    #[test]
    fn formats_a_tiny_lock_file() {
        let inc = render(LOCK).expect("renders");
        let body: Vec<&str> = inc.lines().skip_while(|l| l.starts_with('#')).collect();
        assert_eq!(
            body,
            [
                "",
                "SRC_URI += \"\\",
                "    crate://crates.io/libc/0.2.10 \\",
                "    crate://crates.io/syn/1.0.109 \\",
                "    crate://crates.io/syn/2.0.1 \\",
                "\"",
                "",
                "SRC_URI[libc-0.2.10.sha256sum] = \"cccc\"",
                "SRC_URI[syn-1.0.109.sha256sum] = \"aaaa\"",
                "SRC_URI[syn-2.0.1.sha256sum] = \"bbbb\"",
            ]
        );
        assert!(inc.starts_with("# Generated by `cargo xtask yocto-crates`"));
    }

    #[test]
    fn git_sources_are_refused() {
        let lock = "[[package]]\nname = \"x\"\nversion = \"1.0.0\"\n\
                    source = \"git+https://example.invalid/x#abc\"\n";
        let err = render(lock).expect_err("git source").to_string();
        assert!(err.contains("x 1.0.0"), "{err}");
    }

    #[test]
    fn versions_sort_by_number() {
        assert_eq!(version_order("0.9.0", "0.10.0"), Ordering::Less);
        assert_eq!(version_order("1.0.0", "1.0.0"), Ordering::Equal);
        assert_eq!(version_order("2.0.0", "1.9.9"), Ordering::Greater);
    }

    #[test]
    fn the_first_difference_is_named() {
        assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
        assert_eq!(
            first_difference("a\nb\n", "a\nc\n").as_deref(),
            Some("line 2: expected `b`, found `c`")
        );
        assert_eq!(
            first_difference("a\nb\n", "a\n").as_deref(),
            Some("line 2: missing `b`")
        );
        assert_eq!(
            first_difference("a\n", "a\nz\n").as_deref(),
            Some("line 2: unexpected `z`")
        );
    }

    /// The committed crate list is the one `Cargo.lock` gives: a dependency
    /// change without `cargo xtask yocto-crates` fails here.
    #[test]
    fn the_committed_crate_list_matches_cargo_lock() {
        check().expect("the committed .inc matches Cargo.lock");
    }

    #[test]
    fn the_layer_has_recipes_to_lint() {
        let files = recipe_files(&layer_dir()).expect("layer readable");
        assert!(
            files.iter().any(|f| f.ends_with("ottboxd_git.bb")),
            "{files:?}"
        );
    }
}
