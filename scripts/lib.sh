# Shared helpers for the project's scripts. Sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root to run: $* (install sudo or run as root)"
    fi
}

# ensure_packages PKG...: installs the Debian packages that are missing, once.
ensure_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing Debian packages: ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
}

ensure_rust() {
    command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs) first"
    # rustfmt and clippy come with the default rustup profile; add them if missing.
    if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
        command -v rustup >/dev/null && rustup component add rustfmt clippy
    fi
}

# The packages every part needs to build and test: compilers, the Secret Service
# (gnome-keyring on a private D-Bus), PostgreSQL, and WebKitGTK/Xvfb for the app.
BUILD_PACKAGES=(build-essential pkg-config libssl-dev libdbus-1-dev)
TEST_PACKAGES=(postgresql dbus dbus-x11 gnome-keyring libsecret-tools)

# The desktop app (Tauri 2 on WebKitGTK; its tray icon through libayatana-appindicator,
# loaded at run time) and its end-to-end tests: a real WebKit window under Xvfb, driven
# through WebKitWebDriver, with a window manager (openbox; wmctrl closes windows as a
# person does) and a system tray (gtk-sni-tray, a StatusNotifierItem host). The account
# page's tests: headless Chromium, driven through chromedriver.
APP_PACKAGES=(libwebkit2gtk-4.1-dev librsvg2-dev libayatana-appindicator3-dev)
E2E_PACKAGES=(xvfb xauth webkit2gtk-driver openbox wmctrl haskell-gtk-sni-tray-utils dunst chromium chromium-driver)

# ensure_node: the UI is built with Node >= 20.19 (Debian 12's own archive has 18):
# say so plainly if it is missing.
ensure_node() {
    command -v node >/dev/null && command -v npm >/dev/null ||
        die "Node.js >= 20.19 with npm is needed to build the app's UI (e.g. the nodejs package of NodeSource, or nvm)"
    node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
        die "Node.js $(node -v) is too old for the app's UI: need >= 20.19"
}

# ensure_ui_dist: ui/dist, which the app embeds when it is compiled (frontendDist), and
# ui/node_modules as package-lock.json has it (the server's build script builds the
# account page from it; the page's tests take axe-core from it).
ensure_ui_dist() {
    say "building the UI (ui/dist)"
    (cd "$ROOT/ui" &&
        { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; } &&
        npm run build --silent >/dev/null)
}

# ensure_tauri_driver: the WebDriver bridge of the end-to-end tests, from crates.io.
ensure_tauri_driver() {
    command -v tauri-driver >/dev/null || [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ] ||
        { say "installing tauri-driver"; cargo install tauri-driver --locked; }
}
