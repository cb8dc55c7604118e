//! The words a person reads when a device was signed out from elsewhere: one sentence,
//! written here once, for every place that shows it (the desktop app's sign-in screen
//! and OS notification, `sessionctl watch`, and later the server's own pages).
//!
//! Pure text: the caller knows the reason, who did it, and the moment (already in the
//! person's time zone and words, e.g. "at 14:02" or "yesterday at 09:30").

use crate::sessions::RevocationReason;

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
    let by = by_device_name.map(str::trim).filter(|n| !n.is_empty());
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

#[cfg(test)]
mod tests {
    use super::*;
    use RevocationReason::*;

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
}
