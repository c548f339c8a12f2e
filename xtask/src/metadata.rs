//! The workspace as `cargo metadata` describes it: members, their folders and their declared
//! dependencies with kinds.

use std::path::PathBuf;

use serde_json::Value;

use crate::process::{Failure, Step};

/// The workspace members, in `cargo metadata` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub members: Vec<Package>,
}

/// One workspace member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    /// The folder holding the member's `Cargo.toml`.
    pub dir: PathBuf,
    /// Declared dependencies (optional ones included), by package name (not the `rename`).
    pub dependencies: Vec<Dependency>,
}

/// One declared dependency of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub name: String,
    pub kind: DependencyKind,
}

/// Which `[*dependencies]` table a dependency comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyKind {
    Normal,
    Dev,
    Build,
}

impl Workspace {
    /// Whether `name` is a workspace member.
    pub fn is_member(&self, name: &str) -> bool {
        self.members.iter().any(|p| p.name == name)
    }
}

/// Runs `cargo metadata` and parses it.
///
/// `--no-deps` is enough: each member's `dependencies` array lists every declared dependency
/// with its kind (including optional ones, which the resolved graph would hide when their
/// feature is off), and it spares downloading every platform's crates.
pub fn load() -> Result<Workspace, Failure> {
    let json = Step::cargo(["metadata", "--format-version", "1", "--no-deps"]).output()?;
    parse(&json).map_err(|e| Failure::check(format!("cannot read `cargo metadata` output: {e}")))
}

/// Parses `cargo metadata --format-version 1` output.
pub fn parse(json: &str) -> Result<Workspace, String> {
    let root: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let member_ids: Vec<&str> = root["workspace_members"]
        .as_array()
        .ok_or("no `workspace_members` array")?
        .iter()
        .map(|id| id.as_str().ok_or("a workspace member id is not a string"))
        .collect::<Result<_, _>>()?;
    let packages = root["packages"].as_array().ok_or("no `packages` array")?;
    let mut members = Vec::new();
    for package in packages {
        let id = str_field(package, "id")?;
        if member_ids.contains(&id) {
            members.push(parse_package(package)?);
        }
    }
    Ok(Workspace { members })
}

fn parse_package(package: &Value) -> Result<Package, String> {
    let name = str_field(package, "name")?.to_owned();
    let manifest = PathBuf::from(str_field(package, "manifest_path")?);
    let dir = manifest.parent().map(PathBuf::from).ok_or_else(|| format!("{name}: manifest path has no parent"))?;
    let dependencies = package["dependencies"]
        .as_array()
        .ok_or_else(|| format!("{name}: no `dependencies` array"))?
        .iter()
        .map(|dep| {
            let kind = match dep["kind"].as_str() {
                None => DependencyKind::Normal,
                Some("dev") => DependencyKind::Dev,
                Some("build") => DependencyKind::Build,
                Some(other) => return Err(format!("{name}: unknown dependency kind `{other}`")),
            };
            Ok(Dependency { name: str_field(dep, "name")?.to_owned(), kind })
        })
        .collect::<Result<_, String>>()?;
    Ok(Package { name, dir, dependencies })
}

fn str_field<'a>(value: &'a Value, field: &str) -> Result<&'a str, String> {
    value[field].as_str().ok_or_else(|| format!("missing string field `{field}`"))
}
