//! What a person types: passwords and codes. A password is read with a no-echo prompt
//! on the terminal, or as the next line of standard input when asked
//! (`--password-stdin`); a two-step code likewise (`--totp-stdin`). Never from the
//! command line or the environment. The lines of standard input are taken in the
//! order the command needs them (for `login`: the password, then the code).

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use proto::Password;

use crate::{Failure, usage};

/// The next line of standard input, without its line ending.
fn stdin_line(what: &str) -> Result<String, Failure> {
    let mut line = String::new();
    let n = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("could not read the {what} from standard input"))?;
    if n == 0 {
        return Err(usage(&format!(
            "standard input ended before the {what} (one per line)"
        )));
    }
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

fn require_terminal(what: &str, flag: &str) -> Result<(), Failure> {
    if std::io::stdin().is_terminal() {
        Ok(())
    } else {
        Err(usage(&format!(
            "no terminal to ask for the {what}: pipe it in with {flag}"
        )))
    }
}

/// A password: the next line of stdin, or a no-echo prompt.
pub fn password(prompt: &str, from_stdin: bool) -> Result<Password, Failure> {
    let password = if from_stdin {
        stdin_line("password")?
    } else {
        require_terminal("password", "--password-stdin")?;
        rpassword::prompt_password(prompt).context("could not read the password")?
    };
    if password.is_empty() {
        return Err(usage("the password is empty"));
    }
    Ok(Password::new(password))
}

/// A new password, typed twice on a terminal (once from stdin).
pub fn new_password(from_stdin: bool) -> Result<Password, Failure> {
    let first = password("New password: ", from_stdin)?;
    if !from_stdin {
        let again = password("New password again: ", false)?;
        if again.expose() != first.expose() {
            return Err(usage("the two new passwords differ; nothing was changed"));
        }
    }
    Ok(first)
}

/// Which code a prompt asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// From the authenticator app: shown as typed (good for one use, within seconds).
    App,
    /// One of the recovery codes: not shown.
    Recovery,
    /// Either (to turn two-step sign-in off): not shown.
    AppOrRecovery,
}

/// A two-step code: the next line of stdin, or typed at a prompt.
pub fn code(kind: Code, from_stdin: bool) -> Result<String, Failure> {
    let what = match kind {
        Code::Recovery => "recovery code",
        Code::App | Code::AppOrRecovery => "code",
    };
    let typed = if from_stdin {
        stdin_line(what)?
    } else {
        require_terminal(what, "--totp-stdin")?;
        match kind {
            Code::App => {
                eprint!("Code from your authenticator app: ");
                std::io::stderr().flush().ok();
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("could not read the code")?;
                line
            }
            Code::Recovery => rpassword::prompt_password("Recovery code: ")
                .context("could not read the recovery code")?,
            Code::AppOrRecovery => {
                rpassword::prompt_password("Code from your authenticator app, or a recovery code: ")
                    .context("could not read the code")?
            }
        }
    };
    let typed = typed.trim().to_string();
    if typed.is_empty() {
        return Err(usage(&format!("the {what} is empty")));
    }
    Ok(typed)
}
