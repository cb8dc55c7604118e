//! Everything `sessionctl` prints. Pure functions of their inputs (the clock is passed
//! in), so the golden tests can pin them down.

use chrono::{DateTime, Utc};
use client::{ClientError, ClientEvent, LogoutOutcome, Session, Status};
use proto::SessionId;
use proto::events::Event;
use proto::sessions::SessionInfo;

pub fn signed_in(session: &Session, keychain: &str) -> String {
    format!(
        "Signed in as {} on {} as \"{}\" (session {}).\nThe refresh token is in the {keychain}; no token is written to any file.",
        session.email(),
        session.server(),
        session.device_name(),
        session.session_id(),
    )
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

pub fn devices_table(devices: &[SessionInfo], now: DateTime<Utc>) -> String {
    let header = ["", "NAME", "PLATFORM", "OS", "LAST ACTIVE", "IP", "ID"];
    let mut rows: Vec<[String; 7]> = vec![header.map(String::from)];
    for d in devices {
        rows.push([
            if d.current { "*".into() } else { String::new() },
            d.device.name.clone(),
            d.device.platform.clone(),
            d.device.os_version.clone(),
            if d.current {
                "now (this device)".into()
            } else {
                relative(d.last_seen_at, now)
            },
            d.last_ip.clone().unwrap_or_else(|| "-".into()),
            d.id.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
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

pub fn status(s: &Status, note: Option<&str>, now: DateTime<Utc>) -> String {
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
    add("Account", s.email.clone().unwrap_or_else(|| "-".into()));
    add("Server", s.server_url.clone().unwrap_or_else(|| "-".into()));
    if let (Some(name), Some(sid)) = (&s.device_name, s.session_id) {
        add("Device", format!("{name} (session {sid})"));
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
pub fn event_line(ev: &ClientEvent, me: SessionId) -> Option<String> {
    let at = Utc::now().format("%H:%M:%S");
    let text = match ev {
        // The same sentence as the desktop app's notice.
        ClientEvent::SignedOut { notice, .. } => format!(
            "{} Its keychain entry has been removed.",
            notice.message(&chrono::Local::now())
        ),
        ClientEvent::Remote { event, .. } => match event {
            Event::SessionCreated(e) => format!(
                "New sign-in: \"{}\" ({} {}), session {}",
                e.device.name, e.device.platform, e.device.os_version, e.session_id
            ),
            Event::SessionRenamed(e) => format!(
                "Device {} is now called \"{}\"",
                e.session_id, e.device.name
            ),
            Event::SessionRevoked(e) if e.session_id != me => format!(
                "Signed out: {}{} ({})",
                e.device
                    .as_ref()
                    .map(|d| format!("\"{}\"", d.name))
                    .unwrap_or_else(|| format!("session {}", e.session_id)),
                e.by_device
                    .as_ref()
                    .map(|d| format!(" by \"{}\"", d.name))
                    .unwrap_or_default(),
                e.reason.as_str()
            ),
            Event::SessionRevoked(_) => return None,
            Event::SessionWiped(e) => format!(
                "Device {} confirmed it erased its keys at {}",
                e.session_id,
                e.at.with_timezone(&chrono::Local).format("%H:%M")
            ),
            Event::SecurityAlert(a) => format!("SECURITY ALERT ({}): {}", a.kind, a.message),
        },
        _ => return None,
    };
    Some(format!("{at}  {text}"))
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
            signed_out: None,
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
