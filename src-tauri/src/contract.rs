//! The contract with the web view, checked against its one source (`command_list.rs`
//! and [`crate::ipc`]): the TypeScript types in `ui/src/generated/` are what ts-rs
//! makes of the Rust types, the capability grants exactly the commands, `ui/src/ipc.ts`
//! calls each of them, and docs/app-ipc.md lists the commands and events as they are.
//!
//! After changing the contract, regenerate the TypeScript and the doc tables with
//! `UPDATE_IPC=1 cargo test -p session-manager-app --lib contract`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use ts_rs::{TS, TypeVisitor};

use crate::COMMANDS;
use crate::ipc::{EVENTS, EventMap, event_docs};

const REGENERATE: &str = "UPDATE_IPC=1 cargo test -p session-manager-app --lib contract";

/// How the types are written in TypeScript: 64-bit counts are plain numbers (a count of
/// devices never comes near 2^53).
pub(crate) fn ts_config() -> ts_rs::Config {
    ts_rs::Config::new().with_large_int("number")
}

/// One command in TypeScript: the object its arguments are passed in (`null`: none),
/// and what it resolves with.
#[derive(TS)]
#[allow(dead_code)]
pub struct Command<Args, Answer> {
    pub args: Args,
    pub answer: Answer,
}

macro_rules! command_args {
    () => {
        ()
    };
    ($args:ty) => {
        $args
    };
}

macro_rules! commands_map {
    ($($(#[doc = $doc:literal])* $name:ident($($args:ty)?) -> $answer:ty;)*) => {
        /// Every command the web view may invoke, by name.
        #[derive(TS)]
        #[allow(dead_code)]
        pub struct Commands {
            $($(#[doc = $doc])* pub $name: Command<command_args!($($args)?), $answer>,)*
        }

        /// Each command's name, arguments, answer and description, for docs/app-ipc.md.
        fn command_docs() -> Vec<(&'static str, String, String, String)> {
            let cfg = ts_config();
            vec![$((
                stringify!($name),
                <command_args!($($args)?) as TS>::name(&cfg),
                <$answer as TS>::name(&cfg),
                [$($doc),*].map(str::trim).join(" "),
            )),*]
        }
    };
}

use crate::ipc::*;
use proto::activity::ActivityEvent;
use proto::sessions::SessionInfo;

app_commands!(commands_map);

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn regenerating() -> bool {
    std::env::var_os("UPDATE_IPC").is_some()
}

/// Every declaration file, by its path under `ui/src/generated`: the commands, the
/// events, what a failed command rejects with, and every type they reach.
fn typescript() -> BTreeMap<PathBuf, String> {
    struct Collect<'a>(&'a ts_rs::Config, &'a mut BTreeMap<PathBuf, String>);
    impl TypeVisitor for Collect<'_> {
        fn visit<T: TS + 'static + ?Sized>(&mut self) {
            let Some(path) = T::output_path() else {
                return; // a primitive, written inline
            };
            if self.1.contains_key(&path) {
                return;
            }
            let text = T::export_to_string(self.0).expect("a declaration");
            self.1.insert(path, text);
            T::visit_dependencies(self);
            T::visit_generics(self);
        }
    }
    let cfg = ts_config();
    let mut files = BTreeMap::new();
    let mut collect = Collect(&cfg, &mut files);
    collect.visit::<Commands>();
    collect.visit::<EventMap>();
    collect.visit::<client::ErrorInfo>();
    collect.visit::<AppErrorCode>();
    files
}

#[test]
fn the_typescript_types_are_generated_from_the_rust_ones() {
    let dir = repo("ui/src/generated");
    let want = typescript();
    if regenerating() {
        std::fs::create_dir_all(&dir).unwrap();
        for old in std::fs::read_dir(&dir).unwrap() {
            std::fs::remove_file(old.unwrap().path()).unwrap();
        }
        for (path, text) in &want {
            std::fs::write(dir.join(path), text).unwrap();
        }
    }
    let have: BTreeMap<PathBuf, String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}; generate it with `{REGENERATE}`", dir.display()))
        .map(|f| {
            let f = f.unwrap();
            (
                PathBuf::from(f.file_name()),
                std::fs::read_to_string(f.path()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        have.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "ui/src/generated does not hold the types of the Rust side: regenerate it with `{REGENERATE}`"
    );
    for (path, text) in &want {
        assert_eq!(
            &have[path],
            text,
            "ui/src/generated/{} differs from its Rust type: regenerate it with `{REGENERATE}`",
            path.display()
        );
    }
}

#[test]
fn the_capability_grants_the_main_window_exactly_the_commands() {
    let cap: Value =
        serde_json::from_str(include_str!("../capabilities/main-window.json")).unwrap();
    assert_eq!(cap["windows"], json!(["main"]));
    assert_eq!(cap["local"], true);
    assert!(cap.get("remote").is_none(), "no remote origin is granted");
    let granted: Vec<&str> = cap["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|p| !p.starts_with("core:"))
        .collect();
    let declared: Vec<String> = COMMANDS
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    assert_eq!(
        granted, declared,
        "capabilities/main-window.json must grant exactly the commands of src/command_list.rs, in its order"
    );
}

#[test]
fn the_ui_bridge_calls_every_command_and_no_other() {
    let ipc_ts = std::fs::read_to_string(repo("ui/src/ipc.ts")).unwrap();
    for c in COMMANDS {
        assert!(
            ipc_ts.contains(&format!("call(\"{c}\"")),
            "ui/src/ipc.ts does not call the command {c}"
        );
    }
    let called: Vec<&str> = ipc_ts
        .split("call(\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    for c in called {
        assert!(
            COMMANDS.contains(&c),
            "ui/src/ipc.ts calls {c}, which is not a command"
        );
    }
}

/// The part of docs/app-ipc.md between `<!-- generated: NAME -->` and
/// `<!-- end: NAME -->`.
fn doc_section(doc: &str, name: &str) -> (usize, usize) {
    let begin = format!("<!-- generated: {name} -->\n");
    let end = format!("<!-- end: {name} -->");
    let start = doc
        .find(&begin)
        .unwrap_or_else(|| panic!("docs/app-ipc.md has no `{}`", begin.trim()))
        + begin.len();
    let stop = start
        + doc[start..]
            .find(&end)
            .unwrap_or_else(|| panic!("docs/app-ipc.md has no `{end}`"));
    (start, stop)
}

fn code(ts: &str) -> String {
    if ts == "null" {
        "–".to_string()
    } else {
        format!("`{ts}`")
    }
}

fn command_table() -> String {
    let mut t = String::from(
        "| command | arguments | answer | what it does |\n| --- | --- | --- | --- |\n",
    );
    for (name, args, answer, doc) in command_docs() {
        t.push_str(&format!(
            "| `{name}` | {} | {} | {doc} |\n",
            code(&args),
            code(&answer)
        ));
    }
    t
}

fn event_table() -> String {
    let mut t = String::from("| event | payload | meaning |\n| --- | --- | --- |\n");
    for (name, payload, doc) in event_docs() {
        t.push_str(&format!("| `{name}` | `{payload}` | {doc} |\n"));
    }
    t
}

#[test]
fn the_doc_lists_the_commands_and_events_as_they_are() {
    let path = repo("docs/app-ipc.md");
    let mut doc = std::fs::read_to_string(&path).unwrap();
    for (section, table) in [("commands", command_table()), ("events", event_table())] {
        let (start, stop) = doc_section(&doc, section);
        if regenerating() {
            doc.replace_range(start..stop, &table);
            std::fs::write(&path, &doc).unwrap();
        }
        let (start, stop) = doc_section(&doc, section);
        assert_eq!(
            doc[start..stop],
            table,
            "the {section} table of docs/app-ipc.md is out of date: regenerate it with `{REGENERATE}`"
        );
    }
    assert_eq!(COMMANDS.len(), command_docs().len());
    assert_eq!(EVENTS.len(), event_docs().len());
}
