//! The commands of src/command_list.rs. Each one: find the session, call the client,
//! translate the answer. Failures reject with the `AppError` object.

use chrono::Local;
use client::{ClientError, Session, TwoStepAnswer};
use proto::SessionId;
use proto::activity::ActivityEvent;
use proto::sessions::SessionInfo;
use tauri::State;

use crate::AppContext;
use crate::ipc::{
    Account, AppError, AppState, Args, ChangePasswordArgs, CodeArgs, CommandResult, DeviceArgs,
    FirstPaintArgs, FlowCode, PasswordArgs, RecoveryCodes, RenameDeviceArgs, Revoked,
    SecondStepArgs, SignInArgs, SignedOutDevice, StartAtLogin, StartAtLoginArgs,
    TwoStepDisableArgs, TwoStepSetup,
};

/// The signed-in session this window shows (`not_signed_in` if none).
async fn session(ctx: &AppContext) -> CommandResult<Session> {
    Ok(ctx.manager.session(ctx.server().as_deref()).await?)
}

/// `AppState` as the client reports it (keychain and config file, no network).
pub(crate) async fn state(ctx: &AppContext) -> CommandResult<AppState> {
    let status = ctx.manager.status(ctx.server().as_deref()).await?;
    let state = AppState::new(status, &Local::now());
    ctx.state_read(&state);
    Ok(state)
}

/// This device's own sign-out (the window's "Sign out", the tray's "Sign out of this
/// device"): the keychain entry goes at once, the revocation is pending until confirmed.
pub(crate) async fn sign_out_here(ctx: &AppContext) -> CommandResult<AppState> {
    session(ctx).await?.logout().await?;
    state(ctx).await
}

/// Ids come from the device list; one that is not even an id names no device.
fn device_id(id: &str) -> CommandResult<SessionId> {
    id.trim().parse().map_err(|_| ClientError::NotFound.into())
}

#[tauri::command]
pub async fn app_state(ctx: State<'_, AppContext>) -> CommandResult<AppState> {
    state(&ctx).await
}

#[tauri::command]
pub async fn sign_in(
    ctx: State<'_, AppContext>,
    args: Args<SignInArgs>,
) -> CommandResult<AppState> {
    let Args(args) = args;
    let signed_in = ctx
        .manager
        .sign_in(
            &args.server_url,
            &args.email,
            &args.password,
            args.device_name.as_deref(),
        )
        .await;
    let session = match signed_in {
        Ok(session) => session,
        // The password was right; the server's challenge stays here (the web view
        // never holds it) until the code comes with `sign_in_second_step`.
        Err(ClientError::TwoStepRequired { challenge }) => {
            let e = ClientError::TwoStepRequired {
                challenge: challenge.clone(),
            };
            ctx.set_two_step(Some(*challenge));
            return Err(AppError::flow(FlowCode::TwoStepRequired, &e));
        }
        Err(e) => return Err(e.into()),
    };
    signed_in_here(&ctx, session).await
}

/// A sign-in completed: this window follows that server, and the account's events.
async fn signed_in_here(ctx: &AppContext, session: Session) -> CommandResult<AppState> {
    ctx.set_two_step(None);
    ctx.set_server(session.server());
    session.start_events();
    state(ctx).await
}

#[tauri::command]
pub async fn sign_in_second_step(
    ctx: State<'_, AppContext>,
    args: Args<SecondStepArgs>,
) -> CommandResult<AppState> {
    let Args(args) = args;
    let expired = || AppError::flow(FlowCode::TwoStepExpired, &ClientError::TwoStepExpired);
    let challenge = ctx
        .two_step()
        .filter(|c| !c.is_expired())
        .ok_or_else(expired)?;
    let answer = if args.recovery {
        TwoStepAnswer::recovery_code(&args.code)
    } else {
        TwoStepAnswer::code(&args.code)
    };
    match ctx.manager.sign_in_second_step(&challenge, &answer).await {
        Ok(session) => signed_in_here(&ctx, session).await,
        Err(ClientError::TwoStepExpired) => {
            ctx.set_two_step(None);
            Err(expired())
        }
        // A wrong code: the same challenge may be answered again.
        Err(e) => Err(e.into()),
    }
}

#[tauri::command]
pub async fn list_devices(ctx: State<'_, AppContext>) -> CommandResult<Vec<SessionInfo>> {
    Ok(session(&ctx).await?.list_devices().await?)
}

#[tauri::command]
pub async fn rename_device(
    ctx: State<'_, AppContext>,
    args: Args<RenameDeviceArgs>,
) -> CommandResult<SessionInfo> {
    let Args(args) = args;
    let id = device_id(&args.id)?;
    Ok(session(&ctx).await?.rename_device(id, &args.name).await?)
}

#[tauri::command]
pub async fn sign_out_device(
    ctx: State<'_, AppContext>,
    args: Args<DeviceArgs>,
) -> CommandResult<()> {
    let Args(args) = args;
    let id = device_id(&args.id)?;
    Ok(session(&ctx).await?.sign_out_device(id).await?)
}

#[tauri::command]
pub async fn sign_out_others(ctx: State<'_, AppContext>) -> CommandResult<Revoked> {
    let revoked = session(&ctx).await?.sign_out_others().await?;
    Ok(Revoked { revoked })
}

#[tauri::command]
pub async fn sign_out_everywhere(ctx: State<'_, AppContext>) -> CommandResult<AppState> {
    session(&ctx).await?.sign_out_everywhere().await?;
    state(&ctx).await
}

#[tauri::command]
pub async fn sign_out(ctx: State<'_, AppContext>) -> CommandResult<AppState> {
    sign_out_here(&ctx).await
}

#[tauri::command]
pub async fn activity(ctx: State<'_, AppContext>) -> CommandResult<Vec<ActivityEvent>> {
    Ok(session(&ctx).await?.activity().await?)
}

#[tauri::command]
pub async fn dismiss_notice(ctx: State<'_, AppContext>) -> CommandResult<AppState> {
    ctx.manager.dismiss_notice();
    state(&ctx).await
}

/// The web view painted its first screen (once per start; later calls are ignored).
#[tauri::command]
pub async fn first_paint(
    ctx: State<'_, AppContext>,
    args: Args<FirstPaintArgs>,
) -> CommandResult<()> {
    let Args(args) = args;
    ctx.first_paint(args.screen, args.rows);
    Ok(())
}

/// "Start at login", as the login item on this machine says.
fn login_item(ctx: &AppContext) -> CommandResult<&crate::login_item::LoginItem> {
    ctx.login_item
        .as_ref()
        .map_err(|e| AppError::config(format!("Start at login is not available: {e}")))
}

#[tauri::command]
pub async fn start_at_login(ctx: State<'_, AppContext>) -> CommandResult<StartAtLogin> {
    let enabled = login_item(&ctx)?
        .is_enabled()
        .map_err(|e| AppError::config(e.to_string()))?;
    Ok(StartAtLogin { enabled })
}

#[tauri::command]
pub async fn set_start_at_login(
    ctx: State<'_, AppContext>,
    args: Args<StartAtLoginArgs>,
) -> CommandResult<StartAtLogin> {
    let Args(args) = args;
    let item = login_item(&ctx)?;
    item.set_enabled(args.enabled)
        .map_err(|e| AppError::config(e.to_string()))?;
    tracing::info!(enabled = args.enabled, "start at login");
    let enabled = item
        .is_enabled()
        .map_err(|e| AppError::config(e.to_string()))?;
    Ok(StartAtLogin { enabled })
}

#[tauri::command]
pub async fn account(ctx: State<'_, AppContext>) -> CommandResult<Account> {
    let info = session(&ctx).await?.account_info().await?;
    Ok(Account {
        email: info.email,
        created_at: info.created_at,
        two_step: info.two_step,
    })
}

#[tauri::command]
pub async fn change_password(
    ctx: State<'_, AppContext>,
    args: Args<ChangePasswordArgs>,
) -> CommandResult<Revoked> {
    let Args(args) = args;
    let revoked = session(&ctx)
        .await?
        .change_password(
            &args.current_password,
            &args.new_password,
            args.sign_out_other_devices,
        )
        .await?;
    tracing::info!(revoked, "password changed");
    Ok(Revoked { revoked })
}

#[tauri::command]
pub async fn two_step_start(
    ctx: State<'_, AppContext>,
    args: Args<PasswordArgs>,
) -> CommandResult<TwoStepSetup> {
    let Args(args) = args;
    let enrolment = session(&ctx).await?.two_step_start(&args.password).await?;
    Ok(TwoStepSetup {
        secret: enrolment.secret.expose().to_owned(),
        qr_svg: enrolment.qr_svg,
    })
}

#[tauri::command]
pub async fn two_step_confirm(
    ctx: State<'_, AppContext>,
    args: Args<CodeArgs>,
) -> CommandResult<RecoveryCodes> {
    let Args(args) = args;
    let codes = session(&ctx).await?.two_step_confirm(&args.code).await?;
    tracing::info!("two-step sign-in turned on");
    Ok(RecoveryCodes {
        recovery_codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
    })
}

#[tauri::command]
pub async fn two_step_disable(
    ctx: State<'_, AppContext>,
    args: Args<TwoStepDisableArgs>,
) -> CommandResult<()> {
    let Args(args) = args;
    session(&ctx)
        .await?
        .two_step_disable(&args.password, &args.code)
        .await?;
    tracing::info!("two-step sign-in turned off");
    Ok(())
}

#[tauri::command]
pub async fn signed_out_devices(ctx: State<'_, AppContext>) -> CommandResult<Vec<SignedOutDevice>> {
    let listed = session(&ctx).await?.list_devices_with_signed_out().await?;
    let now = Local::now();
    Ok(listed
        .into_iter()
        .filter_map(|s| SignedOutDevice::new(s, &now))
        .collect())
}

#[tauri::command]
pub async fn device_to_show(ctx: State<'_, AppContext>) -> CommandResult<Option<SessionId>> {
    let device = ctx.take_device_to_show();
    if let Some(id) = device {
        tracing::info!(device = %id, "showing the device a notification was about");
    }
    Ok(device)
}
