//! The words a person reads about their account's devices, each written here once for
//! every place that shows it (the desktop app's screens and OS notifications,
//! `sessionctl`, and later the server's own pages):
//!
//! - [`signed_out_message`]: this device was signed out from elsewhere;
//! - [`new_sign_in_message`]: another device signed in;
//! - [`security_alert_message`]: a `security.alert` (a copied sign-in, a password
//!   change, two-step sign-in turned off);
//! - [`wipe_status_message`]: whether a signed-out device has erased its keys;
//! - [`moment`]: when something happened, said for a sentence ("at 14:02");
//! - [`SignedOutDevice`]: a device signed out in the last 7 days with its wipe status
//!   worded, as the desktop app and the account page show it.
//!
//! Pure text. Every name or other text that came from the server goes through
//! [`crate::text::for_display`] here, so no caller can print a raw control character.

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use crate::events::{AlertKind, SecurityAlert};
use crate::sessions::{RevocationReason, SessionInfo};
use crate::text::for_display;
use crate::{Device, SessionId, Timestamp};

/// "This device was signed out from Work laptop at 14:02." and its variants.
///
/// - `by_device_name`: the device that did it, if known (a blank name counts as unknown).
/// - `own_action`: the session was ended from this very device (for instance "sign out
///   everywhere" here), so it reads as the person's own action.
/// - `when`: the moment, introduced for a sentence ("at 14:02", "yesterday at 09:30",
///   "on 9 Jan 2025 at 08:00"); empty when unknown.
pub fn signed_out_message(
    reason: RevocationReason,
    by_device_name: Option<&str>,
    own_action: bool,
    when: &str,
) -> String {
    let when = match when.trim() {
        "" => String::new(),
        w => format!(" {w}"),
    };
    let by = by_device_name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(for_display);
    match reason {
        RevocationReason::RefreshTokenReuse => format!(
            "This device was signed out{when} because its sign-in was used from somewhere else \
             (a possible stolen token). Sign in again and check your devices."
        ),
        RevocationReason::Admin => {
            format!("This device was signed out by an administrator{when}.")
        }
        RevocationReason::PasswordChanged => match (own_action, by) {
            (true, _) => format!("You changed your password{when}; this device was signed out."),
            (false, Some(by)) => format!(
                "This device was signed out because the password was changed on {by}{when}."
            ),
            (false, None) => {
                format!("This device was signed out because your password was changed{when}.")
            }
        },
        RevocationReason::SignedOutEverywhere => match (own_action, by) {
            (true, _) => format!("You signed out everywhere{when}."),
            (false, Some(by)) => {
                format!("This device was signed out when {by} signed out everywhere{when}.")
            }
            (false, None) => format!(
                "This device was signed out when your account was signed out everywhere{when}."
            ),
        },
        RevocationReason::Logout
        | RevocationReason::Revoked
        | RevocationReason::RevokedOthers
        | RevocationReason::Unknown => match (own_action, by) {
            (true, _) => format!("You signed this device out{when}."),
            (false, Some(by)) => format!("This device was signed out from {by}{when}."),
            (false, None) => format!("This device was signed out from another device{when}."),
        },
    }
}

/// "New sign-in on 'Phone' (iOS 18.1) from 192.0.2.7": another device signed in to the
/// account. The parentheses hold the device's OS (its platform when the OS is not
/// known) and are left out when neither is; so is the address when the server did not
/// give one.
pub fn new_sign_in_message(device: &Device, ip: Option<&str>) -> String {
    let name = match device.name.trim() {
        "" => "a device".to_owned(),
        n => format!("'{}'", for_display(n)),
    };
    let os = [&device.os_version, &device.platform]
        .into_iter()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .map(|s| format!(" ({})", for_display(s)))
        .unwrap_or_default();
    let from = ip
        .map(str::trim)
        .filter(|ip| !ip.is_empty())
        .map(|ip| format!(" from {}", for_display(ip)))
        .unwrap_or_default();
    format!("New sign-in on {name}{os}{from}")
}

/// "Security alert: The password of your account was changed." The server's own
/// sentence (it knows which device was concerned), made safe to print; words of this
/// crate when it sent none.
pub fn security_alert_message(alert: &SecurityAlert) -> String {
    let text = match alert.message.trim() {
        "" => match alert.kind {
            AlertKind::RefreshTokenReuse => {
                "A device's sign-in was used twice, which suggests it was copied. That device has been signed out."
            }
            AlertKind::PasswordChanged => "The password of your account was changed.",
            AlertKind::TwoStepDisabled => "Two-step sign-in was turned off for your account.",
            AlertKind::Unknown => "Something happened to your account that you should check.",
        }
        .into(),
        m => for_display(m),
    };
    format!("Security alert: {text}")
}

/// What a signed-out device has done about its keys: "Keys erased from this device at
/// 14:02, from 192.0.2.9" once its wipe receipt arrived (`wiped` is the moment, as
/// [`moment`] says it, and the address the receipt came from), else "Waiting for this
/// device to come online".
pub fn wipe_status_message(wiped: Option<&str>, wiped_ip: Option<&str>) -> String {
    match wiped {
        None => "Waiting for this device to come online".to_owned(),
        Some(when) => {
            let when = match when.trim() {
                "" => String::new(),
                w => format!(" {w}"),
            };
            let from = wiped_ip
                .map(str::trim)
                .filter(|ip| !ip.is_empty())
                .map(|ip| format!(", from {}", for_display(ip)))
                .unwrap_or_default();
            format!("Keys erased from this device{when}{from}")
        }
    }
}

/// A moment for a sentence, as people say it: "at 14:02" today, "yesterday at 14:02",
/// else "on 9 Jan 2025 at 14:02" — calendar days in `now`'s time zone.
pub fn moment<Tz: TimeZone>(at: DateTime<Utc>, now: &DateTime<Tz>) -> String {
    let at = at.with_timezone(&now.timezone()).naive_local();
    let clock = at.format("%H:%M");
    match (now.date_naive() - at.date()).num_days() {
        0 => format!("at {clock}"),
        1 => format!("yesterday at {clock}"),
        _ => format!("on {} at {clock}", at.format("%-d %b %Y")),
    }
}

/// A device signed out in the last 7 days, and whether it has erased its keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SignedOutDevice {
    pub id: SessionId,
    pub device: Device,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub last_ip: Option<String>,
    pub revoked_at: Timestamp,
    pub revoked_reason: RevocationReason,
    /// When the device's wipe receipt said it erased its keys; `null` until then.
    pub wiped_at: Option<Timestamp>,
    /// The address the receipt came from.
    pub wiped_ip: Option<String>,
    /// "Keys erased from this device at 14:02, from 192.0.2.9", or "Waiting for this
    /// device to come online" (`proto::notice`, worded when it is sent).
    pub wipe_status: String,
}

impl SignedOutDevice {
    /// A listed session that ended (`None` for a live one); its status worded relative
    /// to `now`, in `now`'s time zone (the desktop's own, or the browser's for the
    /// account page).
    pub fn new<Tz: TimeZone>(s: SessionInfo, now: &DateTime<Tz>) -> Option<Self> {
        let ended = s.signed_out()?;
        let wiped = ended.wiped_at.map(|at| moment(at, now));
        let wipe_status = wipe_status_message(wiped.as_deref(), ended.wiped_ip.as_deref());
        Some(Self {
            id: s.id,
            device: s.device,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            last_ip: s.last_ip,
            revoked_at: ended.revoked_at,
            revoked_reason: ended.revoked_reason,
            wiped_at: ended.wiped_at,
            wiped_ip: ended.wiped_ip,
            wipe_status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RevocationReason::*;
    use chrono::FixedOffset;

    #[test]
    fn names_the_device_that_did_it_and_when() {
        assert_eq!(
            signed_out_message(Revoked, Some("Work laptop"), false, "at 14:02"),
            "This device was signed out from Work laptop at 14:02."
        );
        assert_eq!(
            signed_out_message(RevokedOthers, Some("  Phone "), false, "yesterday at 09:30"),
            "This device was signed out from Phone yesterday at 09:30."
        );
    }

    #[test]
    fn a_password_change_says_so() {
        assert_eq!(
            signed_out_message(PasswordChanged, Some("Phone"), false, "at 14:02"),
            "This device was signed out because the password was changed on Phone at 14:02."
        );
    }

    #[test]
    fn an_unnamed_device_is_another_device() {
        for name in [None, Some(""), Some("   ")] {
            assert_eq!(
                signed_out_message(Revoked, name, false, "at 14:02"),
                "This device was signed out from another device at 14:02."
            );
        }
        // Learned only from a refused refresh: no reason, no device.
        assert_eq!(
            signed_out_message(Unknown, None, false, "at 14:02"),
            "This device was signed out from another device at 14:02."
        );
    }

    #[test]
    fn sign_out_everywhere_says_who_did_it() {
        assert_eq!(
            signed_out_message(SignedOutEverywhere, Some("Work laptop"), false, "at 14:02"),
            "This device was signed out when Work laptop signed out everywhere at 14:02."
        );
        assert_eq!(
            signed_out_message(SignedOutEverywhere, None, false, "at 14:02"),
            "This device was signed out when your account was signed out everywhere at 14:02."
        );
    }

    #[test]
    fn the_persons_own_action_reads_as_theirs() {
        assert_eq!(
            signed_out_message(SignedOutEverywhere, Some("Ada's laptop"), true, "at 14:02"),
            "You signed out everywhere at 14:02."
        );
        assert_eq!(
            signed_out_message(Revoked, Some("Ada's laptop"), true, "at 14:02"),
            "You signed this device out at 14:02."
        );
    }

    #[test]
    fn reuse_and_admin_say_why_whoever_asked() {
        let reuse = signed_out_message(RefreshTokenReuse, Some("Phone"), false, "at 14:02");
        assert!(
            reuse.starts_with(
                "This device was signed out at 14:02 because its sign-in was used from somewhere else"
            ),
            "{reuse}"
        );
        assert!(
            reuse.ends_with("Sign in again and check your devices."),
            "{reuse}"
        );
        assert_eq!(
            signed_out_message(Admin, None, false, "at 14:02"),
            "This device was signed out by an administrator at 14:02."
        );
    }

    #[test]
    fn without_a_moment_the_sentence_still_reads() {
        assert_eq!(
            signed_out_message(Revoked, Some("Phone"), false, ""),
            "This device was signed out from Phone."
        );
        assert_eq!(
            signed_out_message(Admin, None, false, " "),
            "This device was signed out by an administrator."
        );
    }

    #[test]
    fn a_deceptive_device_name_cannot_take_over_the_sentence() {
        assert_eq!(
            signed_out_message(Revoked, Some("Desk\u{202E}potpal"), false, "at 14:02"),
            "This device was signed out from Desk\u{FFFD}potpal at 14:02."
        );
    }

    fn device(name: &str, platform: &str, os_version: &str) -> Device {
        Device {
            name: name.into(),
            platform: platform.into(),
            os_version: os_version.into(),
            app_version: String::new(),
        }
    }

    #[test]
    fn a_new_sign_in_names_the_device_its_system_and_where_from() {
        assert_eq!(
            new_sign_in_message(&device("Phone", "ios", "iOS 18.1"), Some("192.0.2.7")),
            "New sign-in on 'Phone' (iOS 18.1) from 192.0.2.7"
        );
        assert_eq!(
            new_sign_in_message(&device("Phone", "ios", ""), None),
            "New sign-in on 'Phone' (ios)"
        );
        assert_eq!(
            new_sign_in_message(&device(" ", "", ""), Some(" ")),
            "New sign-in on a device"
        );
        // Stored before the server refused such names: shown, never obeyed.
        assert_eq!(
            new_sign_in_message(
                &device("Work\u{200B}laptop", "linux", "Debian\u{2066}12"),
                Some("192.0.2.7")
            ),
            "New sign-in on 'Work\u{FFFD}laptop' (Debian\u{FFFD}12) from 192.0.2.7"
        );
    }

    fn alert(kind: AlertKind, message: &str) -> SecurityAlert {
        SecurityAlert {
            kind,
            session_id: None,
            at: Utc::now(),
            message: message.into(),
        }
    }

    #[test]
    fn a_security_alert_says_so_first() {
        assert_eq!(
            security_alert_message(&alert(
                AlertKind::PasswordChanged,
                "The password of your account was changed."
            )),
            "Security alert: The password of your account was changed."
        );
        assert_eq!(
            security_alert_message(&alert(AlertKind::TwoStepDisabled, "")),
            "Security alert: Two-step sign-in was turned off for your account."
        );
        assert_eq!(
            security_alert_message(&alert(
                AlertKind::RefreshTokenReuse,
                "A refresh token of \"Old\u{202E}pc\" was used twice.\n"
            )),
            "Security alert: A refresh token of \"Old\u{FFFD}pc\" was used twice."
        );
        for kind in [
            AlertKind::RefreshTokenReuse,
            AlertKind::PasswordChanged,
            AlertKind::TwoStepDisabled,
            AlertKind::Unknown,
        ] {
            assert!(security_alert_message(&alert(kind, " ")).len() > "Security alert: ".len());
        }
    }

    #[test]
    fn a_signed_out_device_is_waiting_or_has_erased_its_keys() {
        assert_eq!(
            wipe_status_message(None, None),
            "Waiting for this device to come online"
        );
        assert_eq!(
            wipe_status_message(Some("at 14:02"), Some("192.0.2.9")),
            "Keys erased from this device at 14:02, from 192.0.2.9"
        );
        assert_eq!(
            wipe_status_message(Some("yesterday at 09:30"), None),
            "Keys erased from this device yesterday at 09:30"
        );
    }

    /// 3 Mar 2025 15:00 on a clock two hours ahead of UTC.
    fn now() -> DateTime<FixedOffset> {
        FixedOffset::east_opt(2 * 3600)
            .unwrap()
            .with_ymd_and_hms(2025, 3, 3, 15, 0, 0)
            .unwrap()
    }

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        now()
            .timezone()
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_moment_is_the_time_today_yesterday_or_the_date_in_local_time() {
        assert_eq!(moment(local(2025, 3, 3, 14, 2), &now()), "at 14:02");
        assert_eq!(
            moment(local(2025, 3, 2, 9, 30), &now()),
            "yesterday at 09:30"
        );
        assert_eq!(
            moment(local(2025, 1, 9, 8, 0), &now()),
            "on 9 Jan 2025 at 08:00"
        );
        // 23:30 UTC on the 2nd is already the 3rd on this clock.
        let late = Utc.with_ymd_and_hms(2025, 3, 2, 23, 30, 0).unwrap();
        assert_eq!(moment(late, &now()), "at 01:30");
    }

    fn listed(revoked: bool, wiped_at: Option<DateTime<Utc>>) -> SessionInfo {
        let mut s = SessionInfo {
            id: SessionId::new(),
            device: device("Work laptop", "linux", "Debian 12"),
            created_at: local(2025, 3, 1, 9, 0),
            last_seen_at: local(2025, 3, 3, 13, 0),
            last_ip: Some("192.0.2.7".into()),
            current: false,
            revoked_at: None,
            revoked_reason: None,
            wiped_at: None,
            wiped_ip: None,
        };
        if revoked {
            s.set_signed_out(crate::sessions::SignedOut {
                revoked_at: local(2025, 3, 3, 14, 0),
                revoked_reason: PasswordChanged,
                wiped_at,
                wiped_ip: wiped_at.map(|_| "192.0.2.9".into()),
            });
        }
        s
    }

    #[test]
    fn a_signed_out_device_carries_its_wipe_status_in_the_viewers_time_zone() {
        assert_eq!(SignedOutDevice::new(listed(false, None), &now()), None);

        let waiting = SignedOutDevice::new(listed(true, None), &now()).unwrap();
        assert_eq!(waiting.revoked_reason, PasswordChanged);
        assert_eq!(waiting.wiped_at, None);
        assert_eq!(
            waiting.wipe_status,
            "Waiting for this device to come online"
        );

        let wiped =
            SignedOutDevice::new(listed(true, Some(local(2025, 3, 3, 14, 2))), &now()).unwrap();
        assert_eq!(
            wiped.wipe_status,
            "Keys erased from this device at 14:02, from 192.0.2.9"
        );
        // The same receipt read in UTC: two hours earlier on the clock.
        let utc = now().with_timezone(&Utc);
        let wiped =
            SignedOutDevice::new(listed(true, Some(local(2025, 3, 3, 14, 2))), &utc).unwrap();
        assert_eq!(
            wiped.wipe_status,
            "Keys erased from this device at 12:02, from 192.0.2.9"
        );
    }
}
