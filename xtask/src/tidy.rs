//! The tidy check: repository habits that the compiler does not enforce. Every `.rs` file opens
//! with a `//!` line saying what it is for, non-test code holds no debugging or placeholder
//! macros (clippy catches those only in code that compiles on this platform and feature set),
//! and every `MEMORY_*` environment variable that non-test code names is documented in the
//! configuration reference (`docs/configuration.md`), so the reference cannot drift.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::metadata::Workspace;

/// The folders of a crate whose `.rs` files are checked.
const CHECKED_DIRS: &[&str] = &["src", "tests", "benches", "examples"];

/// Macros that must not stay in non-test code; spelled in pieces so this file passes its own check.
const FORBIDDEN_MACROS: &[&str] = &[concat!("dbg", "!("), concat!("todo", "!("), concat!("unimplemented", "!(")];

/// The configuration reference, relative to the workspace root.
const REFERENCE: &str = "docs/configuration.md";

/// Crates whose variables are for developers (test and benchmark sizes), not users.
const DEVELOPER_CRATES: &[&str] = &["memory-testkit", "xtask"];

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    /// 1-based line, when the problem has one.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// Checks every `.rs` file in the checked folders of every member; paths are reported relative
/// to the workspace root.
pub fn check_workspace(workspace: &Workspace) -> std::io::Result<Vec<Problem>> {
    let root = crate::process::workspace_root();
    let mut files = Vec::new();
    for package in &workspace.members {
        for dir in CHECKED_DIRS {
            collect_rs_files(&package.dir.join(dir), &mut files)?;
        }
    }
    files.sort();
    let reference = std::fs::read_to_string(root.join(REFERENCE))?;
    let developer_dirs: Vec<&Path> = workspace
        .members
        .iter()
        .filter(|p| DEVELOPER_CRATES.contains(&p.name.as_str()))
        .map(|p| p.dir.as_path())
        .collect();
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let shown = file.strip_prefix(&root).unwrap_or(&file);
        problems.extend(check_file(shown, &text));
        let product = workspace.members.iter().any(|p| file.starts_with(p.dir.join("src")));
        if product && !developer_dirs.iter().any(|d| file.starts_with(d)) {
            problems.extend(check_documented_env(shown, &text, &reference));
        }
    }
    Ok(problems)
}

/// Every `"MEMORY_..."` string literal of non-test product code (`src/`; benchmarks have their
/// own documentation) must appear in the reference (in
/// backticks, or covered by a documented `MEMORY_PREFIX_*` family).
pub fn check_documented_env(path: &Path, text: &str, reference: &str) -> Vec<Problem> {
    if is_test_file(path) {
        return Vec::new();
    }
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        for (at, _) in line.match_indices("\"MEMORY_") {
            let name: String = line[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !line[at + 1 + name.len()..].starts_with('"') || documents(reference, &name) {
                continue;
            }
            problems.push(Problem {
                path: path.to_owned(),
                line: Some(index + 1),
                message: format!("the environment variable {name} is not documented in {REFERENCE}"),
            });
        }
    }
    problems
}

/// The reference names `name` in backticks, or a family it belongs to (`MEMORY_OPENAI_*`).
fn documents(reference: &str, name: &str) -> bool {
    reference.contains(&format!("`{name}`"))
        || reference.match_indices("_*`").any(|(end, _)| {
            let start = reference[..end].rfind('`').map_or(end, |s| s + 1);
            name.starts_with(&reference[start..=end])
        })
}

fn collect_rs_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                collect_rs_files(&path, out)?;
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// Checks one file's text; `path` is only used to classify test files and to report.
pub fn check_file(path: &Path, text: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let first = text.lines().find(|l| !l.trim().is_empty());
    if !first.is_some_and(|l| l.trim_start().starts_with("//!")) {
        problems.push(Problem {
            path: path.to_owned(),
            line: None,
            message: "does not start with a `//!` line saying what the file is for".to_owned(),
        });
    }
    if is_test_file(path) {
        return problems;
    }
    for (index, line) in text.lines().enumerate() {
        let code = line.trim_start();
        // By convention the unit-test module closes the file: everything after it is test code.
        if code.starts_with("#[cfg(test)]") {
            break;
        }
        if code.starts_with("//") {
            continue;
        }
        for &pattern in FORBIDDEN_MACROS {
            if contains_macro_call(line, pattern) {
                problems.push(Problem {
                    path: path.to_owned(),
                    line: Some(index + 1),
                    message: format!("`{pattern}` left in non-test code"),
                });
            }
        }
    }
    problems
}

/// Integration tests (`tests/...`) and `tests.rs` modules are test code throughout.
fn is_test_file(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "tests") || path.file_name().is_some_and(|n| n == "tests.rs")
}

/// `pattern` occurs as a macro call, not as the tail of a longer name (`my_` + the macro).
fn contains_macro_call(line: &str, pattern: &str) -> bool {
    line.match_indices(pattern)
        .any(|(at, _)| !line[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(path: &str, text: &str) -> Vec<String> {
        check_file(Path::new(path), text).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_file_must_open_with_an_inner_doc_line() {
        assert!(check("a/src/lib.rs", "\n\n//! What this is.\nfn f() {}\n").is_empty());
        assert_eq!(
            check("a/src/lib.rs", "// plain comment\n//! late\n"),
            ["a/src/lib.rs: does not start with a `//!` line saying what the file is for"]
        );
        assert_eq!(check("a/src/empty.rs", "").len(), 1);
        assert_eq!(check("a/tests/it/main.rs", "use a;\n").len(), 1, "test files need one too");
    }

    /// Fixtures spell the macros in capitals (`TODO!(`) so this file holds no literal call that
    /// a text search for leftovers (like the stop hook's) would mistake for one.
    fn fixture(text: &str) -> String {
        text.replace("DBG!", "dbg!").replace("TODO!", "todo!").replace("UNIMPLEMENTED!", "unimplemented!")
    }

    #[test]
    fn debugging_macros_are_flagged_in_non_test_code_with_their_line() {
        let text = fixture("//! Doc.\nfn f() {\n    DBG!(1);\n    TODO!()\n}\nfn g() { UNIMPLEMENTED!(\"x\") }\n");
        assert_eq!(
            check("a/src/lib.rs", &text),
            [
                fixture("a/src/lib.rs:3: `DBG!(` left in non-test code"),
                fixture("a/src/lib.rs:4: `TODO!(` left in non-test code"),
                fixture("a/src/lib.rs:6: `UNIMPLEMENTED!(` left in non-test code"),
            ]
        );
    }

    #[test]
    fn test_code_and_comments_may_use_them() {
        let unit =
            fixture("//! Doc.\nfn f() {}\n// TODO!() later\n#[cfg(test)]\nmod tests {\n    fn t() { DBG!(1); }\n}\n");
        assert!(check("a/src/lib.rs", &unit).is_empty());
        assert!(check("a/tests/it/main.rs", &fixture("//! Tests.\nfn t() { TODO!() }\n")).is_empty());
        assert!(check("a/src/store/tests.rs", &fixture("//! Tests.\nfn t() { DBG!(2); }\n")).is_empty());
    }

    #[test]
    fn environment_variables_must_be_documented() {
        let reference = "| `MEMORY_HOME` | home |\n| `MEMORY_OPENAI_*` | endpoint |\n";
        let check = |text: &str| -> Vec<String> {
            check_documented_env(Path::new("a/src/lib.rs"), text, reference).iter().map(ToString::to_string).collect()
        };
        assert!(check("//! Doc.\nlet h = var(\"MEMORY_HOME\");\nlet k = \"MEMORY_OPENAI_API_KEY\";\n").is_empty());
        assert_eq!(
            check("//! Doc.\nlet h = var(\"MEMORY_COLOUR\");\n"),
            ["a/src/lib.rs:2: the environment variable MEMORY_COLOUR is not documented in docs/configuration.md"]
        );
        assert!(check("//! Doc.\n#[cfg(test)]\nmod tests { const V: &str = \"MEMORY_X\"; }\n").is_empty());
        assert!(check_documented_env(Path::new("a/tests/it.rs"), "\"MEMORY_X\"", reference).is_empty());
    }

    #[test]
    fn longer_macro_names_are_not_flagged() {
        assert!(check("a/src/lib.rs", &fixture("//! Doc.\nfn f() { my_TODO!(); self_DBG!(x); }\n")).is_empty());
    }
}
