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
        && !e
            .chars()
            .any(|c| c.is_whitespace() || proto::text::is_deceptive(c));
    valid.then_some(e)
}

pub(super) fn validate_name(name: &str) -> Result<String> {
    if let Some(c) = proto::text::first_deceptive(name) {
        return Err(AppError::Deceptive {
            field: "The device name",
            code_point: c as u32,
        });
    }
    let name = proto::text::normalize_spaces(name);
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
    Ok(name.into_owned())
}

pub(super) fn validate_device(d: Device) -> Result<Device> {
    let name = validate_name(&d.name)?;
    let mut fields = [d.platform, d.os_version, d.app_version];
    for (field, value) in ["device.platform", "device.os_version", "device.app_version"]
        .into_iter()
        .zip(&mut fields)
    {
        if let Some(c) = proto::text::first_deceptive(value) {
            return Err(AppError::Deceptive {
                field,
                code_point: c as u32,
            });
        }
        *value = proto::text::normalize_spaces(value).into_owned();
        if value.chars().count() > MAX_DEVICE_FIELD_CHARS {
            return Err(AppError::Invalid(format!(
                "{field} must be at most {MAX_DEVICE_FIELD_CHARS} characters."
            )));
        }
    }
    let [platform, os_version, app_version] = fields;
    Ok(Device {
        name,
        platform,
        os_version,
        app_version,
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
            "ann\u{200B}@example.com",
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
        assert_eq!(
            validate_name("Work\u{00A0}\u{3000}laptop").unwrap(),
            "Work laptop"
        );
        for deceptive in [
            "\u{202E}gnp.exe",
            "Work\u{200B}laptop",
            "\u{2066}Phone\u{2069}",
            "Tablet\u{2028}",
            "\u{FEFF}Laptop",
        ] {
            assert!(
                matches!(validate_name(deceptive), Err(AppError::Deceptive { .. })),
                "{deceptive:?}"
            );
        }
    }
}
