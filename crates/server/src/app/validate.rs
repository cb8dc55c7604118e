//! What input is acceptable: emails, device names and fields. Messages are for people
//! and never quote what was sent.

use proto::Device;

use super::{AppError, Result};

const MAX_DEVICE_NAME_CHARS: usize = 100;
const MAX_DEVICE_FIELD_CHARS: usize = 64;

/// Trimmed and lower-cased, if it looks like an address at all.
pub fn normalize_email(email: &str) -> Option<String> {
    let e = email.trim().to_lowercase();
    let (local, domain) = e.split_once('@')?;
    let valid = e.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.is_empty()
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    valid.then_some(e)
}

pub(super) fn validate_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::Invalid(
            "The device name must not be empty.".into(),
        ));
    }
    if name.chars().count() > MAX_DEVICE_NAME_CHARS {
        return Err(AppError::Invalid(format!(
            "The device name must be at most {MAX_DEVICE_NAME_CHARS} characters."
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::Invalid(
            "The device name must not contain control characters.".into(),
        ));
    }
    Ok(name.to_owned())
}

pub(super) fn validate_device(d: Device) -> Result<Device> {
    let name = validate_name(&d.name)?;
    for (field, value) in [
        ("platform", &d.platform),
        ("os_version", &d.os_version),
        ("app_version", &d.app_version),
    ] {
        if value.chars().count() > MAX_DEVICE_FIELD_CHARS || value.chars().any(char::is_control) {
            return Err(AppError::Invalid(format!(
                "device.{field} must be at most {MAX_DEVICE_FIELD_CHARS} printable characters."
            )));
        }
    }
    Ok(Device {
        name,
        platform: d.platform.trim().to_owned(),
        os_version: d.os_version.trim().to_owned(),
        app_version: d.app_version.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_or_refused() {
        assert_eq!(
            normalize_email("  Ann@Example.COM "),
            Some("ann@example.com".into())
        );
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "a b@example.com",
            "ann@@x",
            "ann@.x",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn device_names_are_trimmed_and_bounded() {
        assert_eq!(validate_name("  Work laptop ").unwrap(), "Work laptop");
        assert!(validate_name("   ").is_err());
        assert!(validate_name(&"x".repeat(101)).is_err());
        assert!(validate_name("bell\u{7}").is_err());
        assert!(validate_name("Łukasz's 📱").is_ok());
    }
}
