//! Workspace binaries for the tests that need a real one, built on demand.
//!
//! `cargo test` builds only the binaries of the package under test, so a test that runs
//! another package's binary (or the server in a process of its own) asks cargo for it:
//! once per test process and binary, `cargo build --workspace --bin NAME` with the
//! profile and target directory of the running test. Cargo answers in a fraction of a
//! second when the binary is fresh, and rebuilds it when its sources changed, so a test
//! never runs a stale binary. `--workspace` resolves features as `cargo build
//! --workspace --bins` (scripts/run) does, so the two share every compiled artifact.
//!
//! (escargot does the same through cargo's JSON messages; we already know where cargo
//! puts the binary, next to the test's own `deps/`, and escargot guesses the profile
//! from how escargot itself was compiled rather than from the running test.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The path of the workspace binary `name`, built first if needed.
///
/// `<NAME>_BIN` (e.g. `SESSION_SERVER_BIN`) names a binary to use instead, unbuilt.
pub fn binary(name: &str) -> PathBuf {
    let env_key = format!("{}_BIN", name.to_uppercase().replace('-', "_"));
    if let Some(p) = std::env::var_os(&env_key) {
        return PathBuf::from(p);
    }
    // Held while cargo runs: concurrent tests wait for the one build.
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(p) = built.get(name) {
        return p.clone();
    }
    let path = build(name, &env_key);
    built.insert(name.to_owned(), path.clone());
    path
}

/// Where the running test was built: the target directory, the profile's directory in
/// it, and the target triple when one was given (`target/<triple>/<profile>`).
struct Layout {
    target_dir: PathBuf,
    profile_dir: PathBuf,
    triple: Option<String>,
}

impl Layout {
    fn of_current_exe() -> Layout {
        // target[/<triple>]/<profile>/deps/<test> for tests, target[/<triple>]/<profile>/<bin>
        // for binaries (the demo and benchmark tools).
        let exe = std::env::current_exe().expect("the test executable's path");
        let mut profile_dir = exe.parent().expect("its directory").to_path_buf();
        if profile_dir.ends_with("deps") {
            profile_dir.pop();
        }
        let above = profile_dir
            .parent()
            .expect("a target directory above the profile's")
            .to_path_buf();
        // Cargo marks the root of every target directory with CACHEDIR.TAG; one level
        // further up means the profile's directory sits in a target triple's.
        match above.parent() {
            Some(root) if !is_target_root(&above) && is_target_root(root) => Layout {
                triple: above.file_name().map(|t| t.to_string_lossy().into_owned()),
                target_dir: root.to_path_buf(),
                profile_dir,
            },
            _ => Layout {
                target_dir: above,
                profile_dir,
                triple: None,
            },
        }
    }

    /// The cargo flags that select this profile: its directory is named after it,
    /// except `dev` (and `test`, which inherits it) whose directory is `debug`.
    fn profile_flags(&self) -> Vec<String> {
        match self.profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => Vec::new(),
            Some(profile) => vec!["--profile".to_owned(), profile.to_owned()],
        }
    }
}

fn is_target_root(dir: &Path) -> bool {
    dir.join("CACHEDIR.TAG").exists()
}

fn build(name: &str, env_key: &str) -> PathBuf {
    let layout = Layout::of_current_exe();
    let workspace = crate::repo_path("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // At the lowest CPU priority where `nice` is there: the other tests of this process
    // run meanwhile and keep their timing, however long a first build takes.
    let mut cmd = if Command::new("nice").arg("true").status().is_ok() {
        let mut nice = Command::new("nice");
        nice.args(["-n", "19"]).arg(&cargo);
        nice
    } else {
        Command::new(&cargo)
    };
    cmd.args(["build", "--quiet", "--workspace", "--bin", name])
        .arg("--manifest-path")
        .arg(&workspace)
        .arg("--target-dir")
        .arg(&layout.target_dir)
        .args(layout.profile_flags());
    if let Some(triple) = &layout.triple {
        cmd.args(["--target", triple]);
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "could not run cargo ({}) to build {name}: {e}; build it yourself and set {env_key}",
            Path::new(&cargo).display()
        )
    });
    assert!(
        out.status.success(),
        "building {name} failed ({cmd:?}):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = layout
        .profile_dir
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "cargo built {name}, but it is not at {}",
        path.display()
    );
    path
}
