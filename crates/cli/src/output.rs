//! Everything `sessionctl` prints. Pure functions of their inputs (the clock is passed
//! in), so the golden tests can pin them down.

use std::borrow::Cow;

use chrono::{DateTime, TimeZone, Utc};
use client::{ClientError, ClientEvent, LogoutOutcome, PendingReceipt, Session, Status};
use proto::account::AccountInfo;
use proto::events::Event;
use proto::notice;
use proto::sessions::{RevocationReason, SessionInfo};
use proto::{SecretText, SessionId};

/// Text from the server (or once typed by a person) as it may be printed: a device name
/// stored before the server refused deceptive names cannot reorder or hide what the
/// terminal shows; its invisible and direction-changing characters show as U+FFFD.
fn shown(text: &str) -> Cow<'_, str> {
    proto::text::for_display(text)
}

pub fn signed_in(session: &Session, keychain: &str) -> String {
    format!(
        "Signed in as {} on {} as \"{}\" (session {}).\nThe refresh token is in the {keychain}; no token is written to any file.",
        shown(session.email()),
        session.server(),
        shown(session.device_name()),
        session.session_id(),
    )
}

pub fn renamed(old: &str, new: &str) -> String {
    format!("Renamed \"{}\" to \"{}\".", shown(old), shown(new))
}

pub fn revoked(target: &SessionInfo, this_device: bool) -> String {
    let name = shown(&target.device.name);
    if this_device {
        format!("Signed out this device (\"{name}\"); its keychain entry is removed.")
    } else {
        format!("Signed out \"{name}\" ({}).", target.id)
    }
}

pub fn logout(outcome: &LogoutOutcome) -> String {
    if outcome.revoked_on_server {
        "Signed out on this device. The server confirmed the session is over.".to_string()
    } else {
        format!(
            "Signed out on this device. The server could not be reached, so the session is not yet revoked there;\n\
             sessionctl will retry each time it runs until the server confirms ({} pending; see `sessionctl status`).",
            outcome.pending_revocations
        )
    }
}

/// "just now", "5 minutes ago", "yesterday", ...
pub fn relative(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds();
    let plural = |n: i64, unit: &str| format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" });
    match secs {
        i64::MIN..=44 => "just now".into(),
        45..=5399 => plural(((secs + 30) / 60).max(1), "minute"),
        5400..=86_399 => plural((secs + 1800) / 3600, "hour"),
        86_400..=172_799 => "yesterday".into(),
        172_800..=2_592_000 => plural(secs / 86_400, "day"),
        _ => then.format("%Y-%m-%d").to_string(),
    }
}

/// Rows of cells in aligned columns, two spaces apart, no trailing spaces.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

pub fn devices_table(devices: &[SessionInfo], now: DateTime<Utc>) -> String {
    let header = ["", "NAME", "PLATFORM", "OS", "LAST ACTIVE", "IP", "ID"];
    let mut rows: Vec<Vec<String>> = vec![header.map(String::from).to_vec()];
    for d in devices {
        rows.push(vec![
            if d.current { "*".into() } else { String::new() },
            shown(&d.device.name).into_owned(),
            shown(&d.device.platform).into_owned(),
            shown(&d.device.os_version).into_owned(),
            if d.current {
                "now (this device)".into()
            } else {
                relative(d.last_seen_at, now)
            },
            d.last_ip
                .as_deref()
                .map_or_else(|| "-".into(), |ip| shown(ip).into_owned()),
            d.id.to_string(),
        ]);
    }
    table(&rows)
}

/// How a session ended, in a few words for the "Signed out" list.
fn how_it_ended(reason: RevocationReason) -> &'static str {
    match reason {
        RevocationReason::Logout => "signed itself out",
        RevocationReason::Revoked => "by another device",
        RevocationReason::RevokedOthers => "all others signed out",
        RevocationReason::SignedOutEverywhere => "signed out everywhere",
        RevocationReason::RefreshTokenReuse => "its sign-in was copied",
        RevocationReason::Admin => "by an administrator",
        RevocationReason::PasswordChanged => "password changed",
        RevocationReason::Unknown => "reason unknown",
    }
}

/// The "Signed out" section of `devices --all`: each device signed out in the last 7
/// days, when and how, and whether it has erased its keys (its wipe receipt), in the
/// words every client uses (`proto::notice::wipe_status_message`); times in `now`'s
/// time zone.
pub fn signed_out_devices<Tz: TimeZone>(devices: &[SessionInfo], now: &DateTime<Tz>) -> String {
    let mut gone: Vec<_> = devices
        .iter()
        .filter_map(|d| d.signed_out().map(|s| (d, s)))
        .collect();
    // The latest first.
    gone.sort_by(|(a, sa), (b, sb)| sb.revoked_at.cmp(&sa.revoked_at).then(a.id.cmp(&b.id)));
    if gone.is_empty() {
        return "\nNo device was signed out in the last 7 days.\n".into();
    }
    // The first column is the live table's "this device" marker, never set here: the
    // names line up with the table above.
    let header = [" ", "NAME", "PLATFORM", "OS", "SIGNED OUT", "KEYS", "ID"];
    let mut rows: Vec<Vec<String>> = vec![header.map(String::from).to_vec()];
    for (d, s) in gone {
        let wiped = s.wiped_at.map(|at| notice::moment(at, now));
        rows.push(vec![
            " ".into(),
            shown(&d.device.name).into_owned(),
            shown(&d.device.platform).into_owned(),
            shown(&d.device.os_version).into_owned(),
            format!(
                "{}, {}",
                relative(s.revoked_at, now.to_utc()),
                how_it_ended(s.revoked_reason)
            ),
            notice::wipe_status_message(wiped.as_deref(), s.wiped_ip.as_deref()),
            d.id.to_string(),
        ]);
    }
    format!("\nSigned out in the last 7 days:\n{}", table(&rows))
}

pub fn status(
    s: &Status,
    receipts: &[PendingReceipt],
    note: Option<&str>,
    now: DateTime<Utc>,
) -> String {
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut add = |k: &str, v: String| lines.push((k.to_string(), v));
    add(
        "Signed in",
        if s.signed_in {
            "yes".into()
        } else {
            "no".into()
        },
    );
    add(
        "Account",
        s.email
            .as_deref()
            .map_or_else(|| "-".into(), |e| shown(e).into_owned()),
    );
    add("Server", s.server_url.clone().unwrap_or_else(|| "-".into()));
    if let (Some(name), Some(sid)) = (&s.device_name, s.session_id) {
        add("Device", format!("{} (session {sid})", shown(name)));
    }
    if s.signed_in {
        add(
            "Access token",
            match s.access_token_expires_at {
                Some(t) => {
                    let mins = (t - now).num_seconds().max(0).div_euclid(60);
                    format!(
                        "expires at {} (in about {mins} min)",
                        t.format("%H:%M:%S UTC")
                    )
                }
                None => "none in memory".into(),
            },
        );
    }
    add(
        "Pending sign-outs",
        if s.pending.is_empty() {
            "none".into()
        } else {
            s.pending
                .iter()
                .map(|p| {
                    format!(
                        "session {} on {} since {} ({} attempt{})",
                        p.session_id,
                        p.server,
                        p.since.format("%Y-%m-%d %H:%M UTC"),
                        p.attempts,
                        if p.attempts == 1 { "" } else { "s" }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
    );
    // Only when one waits: a wipe receipt is sent within seconds while online.
    if !receipts.is_empty() {
        add(
            "Wipe receipts",
            receipts
                .iter()
                .map(|r| {
                    format!(
                        "session {} on {}, erased {} ({} attempt{}; sent when the server answers)",
                        r.session_id,
                        r.server,
                        r.wiped_at.format("%Y-%m-%d %H:%M UTC"),
                        r.attempts,
                        if r.attempts == 1 { "" } else { "s" }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
    add(
        "Keychain",
        if s.keychain.available {
            format!("{} (available)", s.keychain.backend)
        } else {
            format!(
                "{} (NOT available: {})",
                s.keychain.backend,
                s.keychain.message.clone().unwrap_or_default()
            )
        },
    );
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut out = String::new();
    for (k, v) in lines {
        for (i, part) in v.split('\n').enumerate() {
            let label = if i == 0 {
                format!("{k}:")
            } else {
                String::new()
            };
            out.push_str(&format!("{label:<width$}  {part}\n"));
        }
    }
    if let Some(note) = note {
        out.push_str(note);
        out.push('\n');
    }
    if !s.signed_in {
        out.push_str("Sign in with: sessionctl login --email YOU\n");
    }
    out
}

/// One line of `sessionctl watch`, or nothing for events that are not worth a line.
/// The sentences are `proto::notice`'s, the same as the desktop app's notifications;
/// every name from the server is shown safely.
pub fn event_line(ev: &ClientEvent, me: SessionId) -> Option<String> {
    let at = Utc::now().format("%H:%M:%S");
    let text = match ev {
        // The same sentence as the desktop app's notice.
        ClientEvent::SignedOut { notice, .. } => format!(
            "{} Its keychain entry has been removed.",
            notice.message(&chrono::Local::now())
        ),
        ClientEvent::Remote { event, .. } => match event {
            Event::SessionCreated(e) => notice::new_sign_in_message(&e.device, e.ip.as_deref()),
            Event::SessionRenamed(e) => format!(
                "Device {} is now called \"{}\"",
                e.session_id,
                shown(&e.device.name)
            ),
            Event::SessionRevoked(e) if e.session_id != me => format!(
                "Signed out: {}{} ({})",
                e.device
                    .as_ref()
                    .map(|d| format!("\"{}\"", shown(&d.name)))
                    .unwrap_or_else(|| format!("session {}", e.session_id)),
                e.by_device
                    .as_ref()
                    .map(|d| format!(" by \"{}\"", shown(&d.name)))
                    .unwrap_or_default(),
                e.reason.as_str()
            ),
            Event::SessionRevoked(_) => return None,
            Event::SessionWiped(e) => format!(
                "Device {} confirmed it erased its keys {}",
                e.session_id,
                notice::moment(e.at, &chrono::Local::now())
            ),
            Event::SecurityAlert(a) => notice::security_alert_message(a),
        },
        _ => return None,
    };
    Some(format!("{at}  {text}"))
}

/// Before the code prompt of `login`.
pub fn two_step_asked(recovery: bool) -> &'static str {
    if recovery {
        "This account has two-step sign-in: type one of your recovery codes."
    } else {
        "This account has two-step sign-in: type the code your authenticator app shows."
    }
}

pub fn password_changed(revoked: u64, kept_others: bool) -> String {
    match (kept_others, revoked) {
        (true, _) => "Password changed. Your other devices stay signed in.".into(),
        (false, 0) => "Password changed. No other device was signed in.".into(),
        (false, n) => format!(
            "Password changed. {n} other device{} signed out; each erases its keys as soon as it hears it\n\
             (`sessionctl devices --all` shows which have).",
            if n == 1 { " was" } else { "s were" }
        ),
    }
}

/// The QR code of `otpauth_uri` for the terminal: two modules per character cell, the
/// light modules drawn (the `qrcode` crate's own recipe), so that it scans from the
/// usual light-on-dark terminal.
fn qr_for_terminal(otpauth_uri: &str) -> anyhow::Result<String> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::new(otpauth_uri.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot draw the QR code: {e}"))?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// What `2fa enable` shows before it asks for the first code.
pub fn two_step_enrolment(otpauth_uri: &str, secret: &str) -> anyhow::Result<String> {
    Ok(format!(
        "Add this account to your authenticator app: scan the QR code, or type in the secret.\n\n\
         {}\n\n\
         Secret: {secret}\n\n\
         Two-step sign-in is on once you confirm it with the app's first code.\n",
        qr_for_terminal(otpauth_uri)?
    ))
}

/// The recovery codes, shown this once.
pub fn recovery_codes(codes: &[SecretText]) -> String {
    let mut out = String::from(
        "Two-step sign-in is on.\n\n\
         Recovery codes: store these now, somewhere safe and away from this computer. Each\n\
         works once in place of a code if you lose your authenticator app. They are not\n\
         shown again.\n\n",
    );
    for c in codes {
        out.push_str(&format!("    {}\n", c.expose()));
    }
    out
}

pub fn two_step_disabled() -> &'static str {
    "Two-step sign-in is off. Your devices were told (a security alert); turn it on again with `sessionctl 2fa enable`."
}

pub fn two_step_status(info: &AccountInfo) -> String {
    let state = if info.two_step {
        "on"
    } else {
        "off (turn it on with: sessionctl 2fa enable)"
    };
    format!(
        "Account:           {}\nTwo-step sign-in:  {state}\n",
        shown(&info.email)
    )
}

pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Errors in plain words with what to do; with `--json`, also as JSON on stdout.
pub fn print_error(error: &anyhow::Error, json: bool) {
    // A ClientError already says everything; its source chain would only repeat it.
    let (code, hint, mut message) = match error.downcast_ref::<ClientError>() {
        Some(e) => (e.code().to_string(), Some(e.hint()), e.to_string()),
        None => ("error".to_string(), None, format!("{error:#}")),
    };
    if !message.ends_with('.') {
        message.push('.');
    }
    eprintln!("sessionctl: {message}");
    if let Some(h) = &hint {
        eprintln!("{h}");
    }
    if json {
        let v = serde_json::json!({ "error": { "code": code, "message": message, "hint": hint } });
        println!("{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, current: bool, seen_secs_ago: i64, now: DateTime<Utc>) -> SessionInfo {
        SessionInfo {
            id: "01937a6e-0000-7000-8000-000000000001".parse().unwrap(),
            device: proto::Device {
                name: name.into(),
                platform: "linux".into(),
                os_version: "Debian 12".into(),
                app_version: "1".into(),
            },
            created_at: now,
            last_seen_at: now - chrono::Duration::seconds(seen_secs_ago),
            last_ip: if current {
                Some("192.0.2.7".into())
            } else {
                None
            },
            revoked_at: None,
            revoked_reason: None,
            wiped_at: None,
            wiped_ip: None,
            current,
        }
    }

    #[test]
    fn the_devices_table_lines_up() {
        let now = Utc::now();
        let table = devices_table(
            &[
                info("desk", true, 0, now),
                info("old laptop", false, 7300, now),
            ],
            now,
        );
        let expected = concat!(
            "   NAME        PLATFORM  OS         LAST ACTIVE        IP         ID\n",
            "*  desk        linux     Debian 12  now (this device)  192.0.2.7  01937a6e-0000-7000-8000-000000000001\n",
            "   old laptop  linux     Debian 12  2 hours ago        -          01937a6e-0000-7000-8000-000000000001\n",
        );
        assert_eq!(table, expected);
    }

    #[test]
    fn the_signed_out_list_says_when_and_how_and_whether_the_keys_are_gone() {
        use chrono::TimeZone;
        let now = chrono::FixedOffset::east_opt(2 * 3600)
            .unwrap()
            .with_ymd_and_hms(2025, 3, 3, 15, 0, 0)
            .unwrap();
        let at = |h: u32, m: u32| {
            now.timezone()
                .with_ymd_and_hms(2025, 3, 3, h, m, 0)
                .unwrap()
                .to_utc()
        };
        let mut phone = info("phone", false, 0, now.to_utc());
        phone.set_signed_out(proto::sessions::SignedOut {
            revoked_at: at(13, 50),
            revoked_reason: RevocationReason::PasswordChanged,
            wiped_at: Some(at(14, 2)),
            wiped_ip: Some("192.0.2.9".into()),
        });
        let mut tablet = info("tab\u{202E}let", false, 0, now.to_utc());
        tablet.set_signed_out(proto::sessions::SignedOut {
            revoked_at: at(14, 30),
            revoked_reason: RevocationReason::Revoked,
            wiped_at: None,
            wiped_ip: None,
        });
        let expected = concat!(
            "\nSigned out in the last 7 days:\n",
            "   NAME     PLATFORM  OS         SIGNED OUT                         KEYS                                                   ID\n",
            "   tab\u{FFFD}let  linux     Debian 12  30 minutes ago, by another device  Waiting for this device to come online                 01937a6e-0000-7000-8000-000000000001\n",
            "   phone    linux     Debian 12  70 minutes ago, password changed   Keys erased from this device at 14:02, from 192.0.2.9  01937a6e-0000-7000-8000-000000000001\n",
        );
        assert_eq!(signed_out_devices(&[phone, tablet], &now), expected);
        assert_eq!(
            signed_out_devices(&[], &now),
            "\nNo device was signed out in the last 7 days.\n"
        );
    }

    #[test]
    fn status_lists_a_wipe_receipt_only_while_one_waits() {
        let now: DateTime<Utc> = "2025-03-03T15:00:00Z".parse().unwrap();
        let s = Status {
            signed_in: false,
            server_url: Some("https://id.example.com".into()),
            email: Some("ada@example.com".into()),
            session_id: None,
            device_name: None,
            default_device_name: "laptop".into(),
            keychain: client::KeychainStatus {
                backend: "Secret Service keyring".into(),
                available: true,
                message: None,
                code: None,
            },
            pending_revocations: 0,
            pending: Vec::new(),
            online: false,
            signed_out_notice: None,
            access_token_expires_at: None,
        };
        let receipt = PendingReceipt {
            server: "https://id.example.com".into(),
            email: "ada@example.com".into(),
            session_id: "01937a6e-0000-7000-8000-000000000001".parse().unwrap(),
            wiped_at: "2025-03-03T14:02:00Z".parse().unwrap(),
            attempts: 2,
            last_error: Some("cannot reach the server".into()),
        };
        let with = status(&s, std::slice::from_ref(&receipt), None, now);
        assert!(
            with.contains(
                "Wipe receipts:      session 01937a6e-0000-7000-8000-000000000001 on https://id.example.com, erased 2025-03-03 14:02 UTC (2 attempts; sent when the server answers)\n"
            ),
            "{with}"
        );
        assert!(!status(&s, &[], None, now).contains("Wipe receipts"));
    }

    #[test]
    fn relative_times_read_like_a_person_would_say_them() {
        let now = Utc::now();
        let ago = |s: i64| relative(now - chrono::Duration::seconds(s), now);
        assert_eq!(ago(-30), "just now");
        assert_eq!(ago(10), "just now");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(5 * 60), "5 minutes ago");
        assert_eq!(ago(3 * 3600), "3 hours ago");
        assert_eq!(ago(26 * 3600), "yesterday");
        assert_eq!(ago(5 * 86_400), "5 days ago");
        assert_eq!(ago(400 * 86_400).len(), 10);
    }
}
