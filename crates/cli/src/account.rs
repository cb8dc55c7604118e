//! After a scare: `passwd`, `2fa enable|disable|status`, and the second step of
//! `login` on an account with two-step sign-in.

use client::{ClientError, Session, SessionManager, TwoStepAnswer, TwoStepChallenge};

use crate::{Failure, output, prompt};

/// How many codes a person may type at a prompt before giving up (the server also
/// gives up on a sign-in challenge after a few wrong codes).
const CODE_TRIES: u32 = 3;

/// Asks for the code (or recovery code) until the server takes it: up to three times
/// at a prompt, once from standard input.
async fn with_codes<T, F, Fut>(
    kind: prompt::Code,
    from_stdin: bool,
    mut attempt: F,
) -> Result<T, Failure>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        let typed = prompt::code(kind, from_stdin)?;
        match attempt(typed).await {
            Ok(v) => return Ok(v),
            Err(ClientError::InvalidCode) if !from_stdin && tries < CODE_TRIES => {
                eprintln!("That code did not work (wrong, or already used). Try the next one.");
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The second step of `login`.
pub async fn second_step(
    manager: &SessionManager,
    challenge: &TwoStepChallenge,
    recovery: bool,
    from_stdin: bool,
) -> Result<Session, Failure> {
    if !from_stdin {
        eprintln!("{}", output::two_step_asked(recovery));
    }
    let kind = if recovery {
        prompt::Code::Recovery
    } else {
        prompt::Code::App
    };
    with_codes(kind, from_stdin, |typed| {
        let answer = if recovery {
            TwoStepAnswer::recovery_code(&typed)
        } else {
            TwoStepAnswer::code(&typed)
        };
        async move { manager.sign_in_second_step(challenge, &answer).await }
    })
    .await
}

pub async fn passwd(session: &Session, keep: bool, from_stdin: bool) -> Result<u8, Failure> {
    let current = prompt::password("Current password: ", from_stdin)?;
    let new = prompt::new_password(from_stdin)?;
    let revoked = session.change_password(&current, &new, !keep).await?;
    println!("{}", output::password_changed(revoked, keep));
    Ok(0)
}

pub async fn two_step_enable(
    session: &Session,
    password_stdin: bool,
    totp_stdin: bool,
) -> Result<u8, Failure> {
    let password = prompt::password("Password: ", password_stdin)?;
    let enrolment = session.two_step_start(&password).await?;
    print!(
        "{}",
        output::two_step_enrolment(enrolment.otpauth_uri.expose(), enrolment.secret.expose())?
    );
    let codes = with_codes(prompt::Code::App, totp_stdin, |typed| async move {
        session.two_step_confirm(&typed).await
    })
    .await?;
    print!("{}", output::recovery_codes(&codes));
    Ok(0)
}

pub async fn two_step_disable(
    session: &Session,
    password_stdin: bool,
    totp_stdin: bool,
) -> Result<u8, Failure> {
    let password = prompt::password("Password: ", password_stdin)?;
    with_codes(prompt::Code::AppOrRecovery, totp_stdin, |typed| {
        let password = password.clone();
        async move { session.two_step_disable(&password, &typed).await }
    })
    .await?;
    println!("{}", output::two_step_disabled());
    Ok(0)
}

pub async fn two_step_status(session: &Session, json: bool) -> Result<u8, Failure> {
    let info = session.account_info().await?;
    if json {
        output::print_json(&info)?;
    } else {
        print!("{}", output::two_step_status(&info));
    }
    Ok(0)
}
