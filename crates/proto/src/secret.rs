//! Newtypes for secrets. Their `Debug` never shows the value, so a secret cannot
//! leak through `{:?}` in a log line or an error; reading it takes an explicit
//! `expose()`.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! secret {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret itself. Call sites are few and easy to audit.
            pub fn expose(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(<redacted>)", stringify!($name))
            }
        }
    };
}

secret!(
    /// A user's password, only ever in transit to the server.
    Password
);
secret!(
    /// A signed access token (JWT).
    AccessToken
);
secret!(
    /// An opaque refresh token, `rt_` + base64url of 256 random bits.
    RefreshToken
);

secret!(
    /// Any other secret text: a two-step secret, its `otpauth://` URI, a recovery code,
    /// a sign-in challenge.
    SecretText
);

impl RefreshToken {
    /// The prefix of every refresh token.
    pub const PREFIX: &'static str = "rt_";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let t = RefreshToken::new("rt_very-secret");
        let p = Password::new("hunter2");
        assert_eq!(format!("{t:?}"), "RefreshToken(<redacted>)");
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn serializes_as_a_plain_string() {
        let t = AccessToken::new("a.b.c");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"a.b.c\"");
    }
}
