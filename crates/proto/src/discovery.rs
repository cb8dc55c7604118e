//! Discovery (RFC 8414) and the signing keys (RFC 7517).

use serde::{Deserialize, Serialize};

/// `GET /.well-known/oauth-authorization-server`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerMetadata {
    pub issuer: String,
    pub token_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub grant_types_supported: Vec<String>,
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// Where the OpenAPI document of this server lives (not an RFC 8414 name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openapi_uri: Option<String>,
    /// The `aud` claim of the access tokens this server issues (not an RFC 8414 name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_audience: Option<String>,
    /// The lifetime of the access tokens this server issues, in seconds (not an RFC
    /// 8414 name): validators refuse tokens that claim to live longer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_lifetime: Option<u64>,
}

/// One public signing key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// `EdDSA`.
    pub alg: String,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    pub kid: String,
    /// The public key, base64url without padding.
    pub x: String,
}

/// `GET /.well-known/jwks.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}
