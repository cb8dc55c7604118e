//! Declares the app's commands to Tauri's ACL, so that each one is gated by a
//! permission (`allow-<command>`) that capabilities/main-window.json grants to the
//! main window only.

// The one list of commands (a build script cannot import its own crate).
include!("src/command_list.rs");

const COMMANDS: &[&str] = app_commands!(command_names);

fn main() {
    let dist = std::path::Path::new("../ui/dist/index.html");
    println!("cargo:rerun-if-changed=../ui/dist");
    if !dist.exists() {
        // generate_context! embeds ../ui/dist; say how to make it rather than fail obscurely.
        println!(
            "cargo:warning=ui/dist is missing: build the web front end first (cd ui && npm ci && npm run build)"
        );
    }
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {e:#}");
    }
}
