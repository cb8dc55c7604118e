//! Builds the account page (the desktop app's views from `ui/`, `npm run build:web`)
//! into this build's own output directory, where `src/http/web_page.rs` embeds it: the
//! binary carries the page, and nothing generated is committed.
//!
//! The page needs Node.js >= 20.19 with npm (`npm ci` first when `ui/node_modules` is
//! missing). Without Node, or with `SESSION_SERVER_WEB_PAGE=skip`, the server still
//! builds, with a warning, and `/account` says that the page was not built; its API
//! works either way. With Node, a failed build of the page fails the server's build:
//! a server that silently lost its page would be worse.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the page goes in `OUT_DIR` (`web_page.rs` embeds that folder).
const PAGE_DIR: &str = "account-page";
/// The page's entry, as Vite names it after `ui/web.html`.
const ENTRY: &str = "web.html";
/// The oldest Node.js the UI's build tools (Vite) run on.
const NODE_MIN: (u32, u32) = (20, 19);

fn main() {
    let manifest = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join(PAGE_DIR);
    let ui = manifest.join("../../ui");

    println!("cargo:rerun-if-env-changed=SESSION_SERVER_WEB_PAGE");
    for input in [
        "src",
        "web.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
    ] {
        println!("cargo:rerun-if-changed={}", ui.join(input).display());
    }

    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("creating the page's output directory");
    match why_not_build(&ui) {
        None => build(&ui, &out),
        Some(why) => {
            println!(
                "cargo:warning=the account page (/account) is not built into session-server: {why}"
            );
            placeholder(&out, &why);
        }
    }
}

/// Why the page cannot be built here, if it cannot.
fn why_not_build(ui: &Path) -> Option<String> {
    if std::env::var("SESSION_SERVER_WEB_PAGE").as_deref() == Ok("skip") {
        return Some("SESSION_SERVER_WEB_PAGE=skip".to_owned());
    }
    if !ui.join("package.json").is_file() {
        return Some(format!("{} has no package.json", ui.display()));
    }
    let version = Command::new("node").arg("--version").output();
    let Ok(version) = version.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()) else {
        return Some(format!(
            "Node.js was not found; install Node.js >= {}.{} with npm and rebuild (touch ui/package.json)",
            NODE_MIN.0, NODE_MIN.1
        ));
    };
    let mut parts = version
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse::<u32>().ok());
    let found = (parts.next().flatten(), parts.next().flatten());
    match found {
        (Some(major), Some(minor)) if (major, minor) >= NODE_MIN => None,
        _ => Some(format!(
            "Node.js {version} is too old (the page needs >= {}.{}); upgrade it and rebuild (touch ui/package.json)",
            NODE_MIN.0, NODE_MIN.1
        )),
    }
}

fn build(ui: &Path, out: &Path) {
    if !ui.join("node_modules").is_dir() {
        run(ui, &["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
    }
    let out_dir = out.to_str().expect("OUT_DIR is UTF-8");
    run(
        ui,
        &[
            "run",
            "--silent",
            "build:web",
            "--",
            "--outDir",
            out_dir,
            "--emptyOutDir",
            "--logLevel",
            "warn",
        ],
    );
    assert!(
        out.join(ENTRY).is_file(),
        "npm run build:web made no {ENTRY} in {}",
        out.display()
    );
}

fn run(ui: &Path, args: &[&str]) {
    let output = Command::new("npm")
        .args(args)
        .current_dir(ui)
        // Cargo's DEBUG=true would switch on Node's `debug` logging in the build tools.
        .env_remove("DEBUG")
        .output()
        .unwrap_or_else(|e| panic!("running npm {}: {e}", args.join(" ")));
    assert!(
        output.status.success(),
        "npm {} failed in {} ({}):\n{}{}\n(to build session-server without its account page: SESSION_SERVER_WEB_PAGE=skip)",
        args.join(" "),
        ui.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

/// A page that says why there is no page (plain HTML: the strict CSP allows nothing else).
fn placeholder(out: &Path, why: &str) {
    let why = why
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Account page not built · Session Manager</title></head>\n<body>\n<main>\n\
         <h1>The account page was not built into this server</h1>\n\
         <p>This session-server was compiled without its account page: {why}.</p>\n\
         <p>Sign in with the Session Manager app or <code>sessionctl</code> instead, or rebuild the server \
         with Node.js 20.19 or later installed.</p>\n</main>\n</body>\n</html>\n"
    );
    std::fs::write(out.join(ENTRY), html).expect("writing the placeholder page");
}
