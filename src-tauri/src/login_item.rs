//! "Start at login": the app starts with the person's session, hidden in the tray
//! (`--hidden`), so that it is watching for a sign-out from elsewhere without anyone
//! opening it.
//!
//! - Linux (and the other XDG desktops): an entry in `$XDG_CONFIG_HOME/autostart`, as
//!   the XDG Autostart specification has it. Written here rather than through the
//!   `auto-launch` crate because that one ignores `XDG_CONFIG_HOME`.
//! - macOS (a LaunchAgent) and Windows (the `Run` registry key): the `auto-launch` crate.

use std::path::{Path, PathBuf};

/// The argument the login item starts the app with: no window, only the tray.
pub const HIDDEN_ARG: &str = "--hidden";

/// Why the setting could not be read or changed, in words for people.
#[derive(Debug, thiserror::Error)]
pub enum LoginItemError {
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no configuration directory (neither XDG_CONFIG_HOME nor HOME is set)")]
    NoConfigDir,
    #[error("this program's own path is unknown: {0}")]
    NoExecutable(std::io::Error),
    #[cfg(any(target_os = "macos", windows))]
    #[error("{0}")]
    Platform(#[from] auto_launch::Error),
}

/// Whether, and how, this app starts at login.
pub struct LoginItem {
    imp: imp::LoginItem,
}

impl LoginItem {
    /// The login item of this program as installed: the running executable (or the
    /// AppImage it came in), started with [`HIDDEN_ARG`].
    pub fn for_this_app() -> Result<Self, LoginItemError> {
        let exe = match std::env::var_os("APPIMAGE") {
            Some(image) => PathBuf::from(image),
            None => std::env::current_exe().map_err(LoginItemError::NoExecutable)?,
        };
        Ok(Self {
            imp: imp::LoginItem::new(&exe)?,
        })
    }

    /// An XDG autostart entry in `config_dir/autostart` starting `exe` (tests).
    #[cfg(all(unix, not(target_os = "macos")))]
    pub fn xdg(config_dir: &Path, exe: &Path) -> Self {
        Self {
            imp: imp::LoginItem::in_dir(config_dir, exe),
        }
    }

    pub fn is_enabled(&self) -> Result<bool, LoginItemError> {
        self.imp.is_enabled()
    }

    pub fn set_enabled(&self, enabled: bool) -> Result<(), LoginItemError> {
        if enabled {
            self.imp.enable()
        } else {
            self.imp.disable()
        }
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
mod imp {
    use super::*;

    /// The file's name: the program's, as its desktop entry and icon are named.
    const FILE_NAME: &str = "session-manager.desktop";

    pub struct LoginItem {
        file: PathBuf,
        exe: PathBuf,
    }

    impl LoginItem {
        pub fn new(exe: &Path) -> Result<Self, LoginItemError> {
            // XDG_CONFIG_HOME when it is set (and absolute), ~/.config otherwise.
            let config = dirs::config_dir().ok_or(LoginItemError::NoConfigDir)?;
            Ok(Self::in_dir(&config, exe))
        }

        pub fn in_dir(config_dir: &Path, exe: &Path) -> Self {
            Self {
                file: config_dir.join("autostart").join(FILE_NAME),
                exe: exe.to_path_buf(),
            }
        }

        pub fn is_enabled(&self) -> Result<bool, LoginItemError> {
            match std::fs::read_to_string(&self.file) {
                // `Hidden=true` is how a desktop (or the person) switches an entry off.
                Ok(text) => Ok(!text.lines().any(|l| l.trim() == "Hidden=true")),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(source) => Err(LoginItemError::Io {
                    what: "could not read",
                    path: self.file.clone(),
                    source,
                }),
            }
        }

        pub fn enable(&self) -> Result<(), LoginItemError> {
            let io = |what, path: &Path| {
                let path = path.to_path_buf();
                move |source| LoginItemError::Io { what, path, source }
            };
            let dir = self.file.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).map_err(io("could not create", dir))?;
            // Written whole, then renamed: a session starting meanwhile never reads half.
            let tmp = self.file.with_extension("desktop.tmp");
            std::fs::write(&tmp, self.entry()).map_err(io("could not write", &tmp))?;
            std::fs::rename(&tmp, &self.file).map_err(io("could not write", &self.file))
        }

        pub fn disable(&self) -> Result<(), LoginItemError> {
            match std::fs::remove_file(&self.file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(LoginItemError::Io {
                    what: "could not remove",
                    path: self.file.clone(),
                    source: e,
                }),
                _ => Ok(()),
            }
        }

        fn entry(&self) -> String {
            let exec = [self.exe.to_string_lossy().as_ref(), HIDDEN_ARG]
                .map(exec_arg)
                .join(" ");
            format!(
                "[Desktop Entry]\n\
                 Type=Application\n\
                 Name=Session Manager\n\
                 Comment=Watches for this device being signed out from elsewhere\n\
                 Exec={exec}\n\
                 Icon=session-manager\n\
                 Terminal=false\n\
                 StartupNotify=false\n\
                 X-GNOME-Autostart-enabled=true\n"
            )
        }
    }

    /// One argument of `Exec=`, quoted as the Desktop Entry specification asks: plain
    /// when it has only ordinary characters, otherwise in double quotes with `"`, `` ` ``,
    /// `$` and `\` escaped; then `%` doubled (field codes) and every `\` doubled again
    /// (the escaping of string values, applied before the quoting is read).
    pub(super) fn exec_arg(arg: &str) -> String {
        let plain = !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c));
        let quoted = if plain {
            arg.to_string()
        } else {
            let mut q = String::from("\"");
            for c in arg.chars() {
                if matches!(c, '"' | '`' | '$' | '\\') {
                    q.push('\\');
                }
                q.push(c);
            }
            q.push('"');
            q
        };
        quoted.replace('%', "%%").replace('\\', "\\\\")
    }
}

#[cfg(any(target_os = "macos", windows))]
mod imp {
    use super::*;

    pub struct LoginItem(auto_launch::AutoLaunch);

    impl LoginItem {
        pub fn new(exe: &Path) -> Result<Self, LoginItemError> {
            let mut builder = auto_launch::AutoLaunchBuilder::new();
            builder
                .set_app_name("Session Manager")
                .set_app_path(&exe.to_string_lossy())
                .set_args(&[HIDDEN_ARG]);
            #[cfg(target_os = "macos")]
            builder.set_macos_launch_mode(auto_launch::MacOSLaunchMode::LaunchAgent);
            Ok(Self(builder.build()?))
        }

        pub fn is_enabled(&self) -> Result<bool, LoginItemError> {
            Ok(self.0.is_enabled()?)
        }

        pub fn enable(&self) -> Result<(), LoginItemError> {
            Ok(self.0.enable()?)
        }

        pub fn disable(&self) -> Result<(), LoginItemError> {
            Ok(self.0.disable()?)
        }
    }
}

#[cfg(all(test, unix, not(target_os = "macos")))]
mod tests {
    use super::imp::exec_arg;
    use super::*;

    #[test]
    fn switching_it_on_writes_an_autostart_entry_that_starts_the_app_hidden() {
        let config = tempfile::tempdir().unwrap();
        let item = LoginItem::xdg(config.path(), Path::new("/usr/bin/session-manager"));
        assert!(!item.is_enabled().unwrap(), "off until switched on");

        item.set_enabled(true).unwrap();
        assert!(item.is_enabled().unwrap());
        let entry =
            std::fs::read_to_string(config.path().join("autostart/session-manager.desktop"))
                .unwrap();
        assert!(entry.starts_with("[Desktop Entry]\n"), "{entry}");
        assert!(
            entry.contains("\nExec=/usr/bin/session-manager --hidden\n"),
            "{entry}"
        );

        item.set_enabled(false).unwrap();
        assert!(!item.is_enabled().unwrap());
        item.set_enabled(false).unwrap(); // already off: nothing to do
    }

    #[test]
    fn an_entry_the_desktop_switched_off_reads_as_off() {
        let config = tempfile::tempdir().unwrap();
        let item = LoginItem::xdg(config.path(), Path::new("/usr/bin/session-manager"));
        item.set_enabled(true).unwrap();
        let file = config.path().join("autostart/session-manager.desktop");
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, format!("{text}Hidden=true\n")).unwrap();
        assert!(!item.is_enabled().unwrap());
    }

    #[test]
    fn a_path_with_spaces_or_quotes_survives_the_exec_line() {
        assert_eq!(
            exec_arg("/opt/Session Manager/app"),
            "\"/opt/Session Manager/app\""
        );
        assert_eq!(exec_arg("/a/\"b\"/$c"), "\"/a/\\\\\"b\\\\\"/\\\\$c\"");
        assert_eq!(exec_arg("/a/100%"), "\"/a/100%%\"");
        assert_eq!(exec_arg("--hidden"), "--hidden");
    }
}
