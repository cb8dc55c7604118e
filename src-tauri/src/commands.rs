//! The commands of src/command_list.rs. Each one: find the session, call the client,
//! translate the answer. Failures reject with the `AppError` object.

use chrono::Local;
use client::{ClientError, Session};
use proto::SessionId;
use proto::activity::ActivityEvent;
use proto::sessions::SessionInfo;
use tauri::State;

use crate::AppContext;
use crate::ipc::{
    AppError, AppState, Args, CommandResult, DeviceArgs, FirstPaintArgs, RenameDeviceArgs, Revoked,
    SignInArgs, StartAtLogin, StartAtLoginArgs,
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
    let session = ctx
        .manager
        .sign_in(
            &args.server_url,
            &args.email,
            &args.password,
            args.device_name.as_deref(),
        )
        .await?;
    ctx.set_server(session.server());
    session.start_events();
    state(&ctx).await
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
