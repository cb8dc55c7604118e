//! Shared by `sessionctl`'s tests: a user's machine (a private HOME on a D-Bus
//! session), the outputs, the masking of what changes from run to run, golden files.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const PW: &str = "correct horse battery staple";

/// One user's machine: a private HOME (config dir inside), on a given D-Bus session.
pub struct Machine {
    pub home: tempfile::TempDir,
    bus: Option<String>,
    runtime_dir: PathBuf,
}

impl Machine {
    /// On the Secret Service that scripts/with-secret-service provides.
    pub fn new() -> Self {
        Self::on_bus(std::env::var("DBUS_SESSION_BUS_ADDRESS").ok())
    }

    pub fn on_bus(bus: Option<String>) -> Self {
        let home = tempfile::tempdir().unwrap();
        let runtime_dir = home.path().join("run");
        std::fs::create_dir_all(&runtime_dir).unwrap();
        Self {
            home,
            bus,
            runtime_dir,
        }
    }

    pub fn cmd(&self, server: &str, args: &[&str]) -> Command {
        self.program(env!("CARGO_BIN_EXE_sessionctl"), server, args)
    }

    pub fn program(&self, program: &str, server: &str, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        // Nothing from the test's own environment leaks in but what a user would have.
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join(".config"))
            .env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .env("SESSIONCTL_SERVER", server)
            .args(args)
            .stdin(Stdio::null());
        if let Some(bus) = &self.bus {
            c.env("DBUS_SESSION_BUS_ADDRESS", bus);
        }
        c
    }

    pub fn run(&self, server: &str, args: &[&str]) -> Output {
        self.cmd(server, args).output().unwrap()
    }

    /// Runs `args` with `input` on standard input (the lines `--password-stdin` and
    /// `--totp-stdin` read).
    pub fn run_with_input(&self, server: &str, args: &[&str], input: &str) -> Output {
        with_input(self.cmd(server, args), input)
    }

    pub fn login(&self, server: &str, email: &str, device: &str) -> Output {
        self.run_with_input(
            server,
            &[
                "login",
                "--email",
                email,
                "--device-name",
                device,
                "--password-stdin",
            ],
            &format!("{PW}\n"),
        )
    }
}

/// Runs `cmd` with `input` on its standard input, to the end.
pub fn with_input(mut cmd: Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Replaces what changes from run to run with placeholders.
pub fn mask(text: &str, server: &str) -> String {
    let mut out = text.replace(server, "<SERVER>");
    let mut result = String::new();
    // UUIDs: 8-4-4-4-12 hex.
    let bytes: Vec<char> = out.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        if i + 36 <= bytes.len() {
            let cand: String = bytes[i..i + 36].iter().collect();
            if uuid::Uuid::try_parse(&cand).is_ok() && cand.chars().nth(8) == Some('-') {
                result.push_str("<ID>");
                i += 36;
                continue;
            }
        }
        result.push(bytes[i]);
        i += 1;
    }
    out = result;
    let os = whoami::distro();
    if !os.is_empty() {
        out = out.replace(&os, "<OS>");
    }
    out = mask_times(&out);
    out = mask_moments(&out);
    if let Some(start) = out.find("in about ")
        && let Some(end) = out[start..].find(" min")
    {
        out.replace_range(start + 9..start + end, "<N>");
    }
    // Column widths depend on the masked values: compare content, not padding.
    out.lines()
        .map(|l| {
            l.split("  ")
                .filter(|p| !p.is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("  ")
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// A moment as sentences say it, "at 14:02" → "at <HH:MM>".
fn mask_moments(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        let is_moment = rest.len() >= 8
            && rest[..3] == ['a', 't', ' ']
            && rest[3].is_ascii_digit()
            && rest[4].is_ascii_digit()
            && rest[5] == ':'
            && rest[6].is_ascii_digit()
            && rest[7].is_ascii_digit()
            && rest.get(8) != Some(&':');
        if is_moment {
            out.push_str("at <HH:MM>");
            i += 8;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// `YYYY-MM-DD HH:MM UTC` → `<DATE>`, `HH:MM:SS UTC` → `<TIME>`.
fn mask_times(s: &str) -> String {
    let mut s = s.to_string();
    for (pat_len, check, placeholder) in [
        (20usize, 0u8, "<DATE>"), // YYYY-MM-DD HH:MM UTC
        (12, 1, "<TIME>"),        // HH:MM:SS UTC
    ] {
        let chars: Vec<char> = s.chars().collect();
        let mut r = String::new();
        let mut i = 0;
        while i < chars.len() {
            if i + pat_len <= chars.len() {
                let c: String = chars[i..i + pat_len].iter().collect();
                let ok = match check {
                    0 => c.ends_with(" UTC") && c.as_bytes()[4] == b'-' && c.as_bytes()[13] == b':',
                    _ => c.ends_with(" UTC") && c.as_bytes()[2] == b':' && c.as_bytes()[5] == b':',
                };
                if ok {
                    r.push_str(placeholder);
                    i += pat_len;
                    continue;
                }
            }
            r.push(chars[i]);
            i += 1;
        }
        s = r;
    }
    s
}

pub fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    assert_eq!(actual, expected, "output differs from {}", path.display());
}
