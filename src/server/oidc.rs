//! Workload identity for `cordium serve` (`--oidc-issuer NAME=JWKS_FILE`, `--oidc-user`):
//! AuthenticateWithAssertion verifies an OIDC JWT against an issuer's JSON Web Key Set, as
//! upstream's `oidcIdentityToken` IdentityProvider does in its JWKS-content mode (octelium
//! `cluster/authserver/authserver/providers/oidcassertion/oidcassertion.go`
//! AuthenticateAssertion): the provider named by `identityProviderRef` (or, with none, the one
//! whose issuer the token names), a signature by one of its keys (RS256, ES256 or ES384), an
//! unexpired token, the issuer when one is set, the audience in `aud`; then the WORKLOAD user
//! whose identity for that provider is the token's `sub` (`GetUserFromIdentifier`).
//! Verification is jsonwebtoken's; nothing of the token is logged or echoed.

use jsonwebtoken::{jwk::JwkSet, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tonic::Status;

use super::auth::{Role, TokenUser, UserType};

/// The signing algorithms accepted (upstream's SupportedSigningAlgs).
const ALGORITHMS: &[Algorithm] = &[Algorithm::RS256, Algorithm::ES256, Algorithm::ES384];

/// One identity provider: its name, keys, and what its tokens must say.
#[derive(Debug, Clone)]
pub struct Issuer {
    pub name: String,
    pub keys: JwkSet,
    /// The `iss` a token must carry (None: any).
    pub issuer: Option<String>,
    /// The audience a token must name in `aud`.
    pub audience: String,
}

/// A WORKLOAD user an assertion may authenticate as: the provider and the token's `sub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub username: String,
    pub role: Role,
}

/// `NAME=JWKS_FILE[,issuer=ISS][,audience=AUD]`, the key set read from the file. `audience`
/// defaults to `default_audience`.
pub fn parse_issuer(spec: &str, default_audience: &str) -> Result<Issuer, String> {
    let bad = || {
        "--oidc-issuer must be NAME=JWKS_FILE, optionally followed by ,issuer=ISS and \
         ,audience=AUD"
            .to_string()
    };
    let (name, rest) = spec.split_once('=').ok_or_else(bad)?;
    let mut parts = rest.split(',');
    let file = parts.next().filter(|f| !f.is_empty()).ok_or_else(bad)?;
    let mut issuer = None;
    let mut audience = default_audience.to_string();
    for p in parts {
        match p.split_once('=') {
            Some(("issuer", v)) if !v.is_empty() => issuer = Some(v.to_string()),
            Some(("audience", v)) if !v.is_empty() => audience = v.to_string(),
            _ => return Err(bad()),
        }
    }
    if name.is_empty() || name.contains(':') {
        return Err(format!("--oidc-issuer: `{name}` is not an identity provider name"));
    }
    // A key set is small; anything but a regular file of at most 1 MiB is refused.
    let text = crate::config::read::regular_text(std::path::Path::new(file), 1 << 20)
        .map_err(|e| format!("--oidc-issuer {name}: cannot read {file}: {e}"))?;
    let keys: JwkSet = serde_json::from_str(&text)
        .map_err(|e| format!("--oidc-issuer {name}: {file} is not a JSON Web Key Set: {e}"))?;
    if keys.keys.is_empty() {
        return Err(format!("--oidc-issuer {name}: {file} holds no key"));
    }
    Ok(Issuer { name: name.to_string(), keys, issuer, audience })
}

/// `USERNAME[:ROLE]=ISSUER:SUBJECT` (the subject may hold colons: GitHub's
/// `repo:org/repo:ref:refs/heads/main`).
pub fn parse_identity(spec: &str) -> Result<Identity, String> {
    let bad =
        || "--oidc-user must be USERNAME[:ROLE]=ISSUER:SUBJECT (ROLE admin or user)".to_string();
    let (who, what) = spec.split_once('=').ok_or_else(bad)?;
    let (username, role) = match who.split_once(':') {
        Some((u, "admin")) => (u, Role::Admin),
        Some((u, "user")) => (u, Role::User),
        Some(_) => return Err(bad()),
        None => (who, Role::Admin),
    };
    let (issuer, subject) = what.split_once(':').ok_or_else(bad)?;
    if username.is_empty() || issuer.is_empty() || subject.is_empty() {
        return Err(bad());
    }
    Ok(Identity {
        issuer: issuer.to_string(),
        subject: subject.to_string(),
        username: username.to_string(),
        role,
    })
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
}

/// The issuer a token names, read without verifying (only to pick the provider).
fn unverified_issuer(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("iss")?.as_str().map(str::to_string)
}

/// Who an assertion authenticates as, or UNAUTHENTICATED with a reason that quotes nothing of
/// the token.
pub fn authenticate(
    issuers: &[Issuer],
    identities: &[Identity],
    provider: Option<&str>,
    token: &str,
) -> Result<TokenUser, Status> {
    let refuse = |why: &str| Status::unauthenticated(format!("Invalid assertion: {why}"));
    let issuer = match provider.filter(|p| !p.is_empty()) {
        Some(name) => issuers
            .iter()
            .find(|i| i.name == name)
            .ok_or_else(|| refuse("no such identity provider"))?,
        None => {
            let iss = unverified_issuer(token);
            issuers
                .iter()
                .find(|i| i.issuer.is_some() && i.issuer == iss)
                .ok_or_else(|| refuse("no identity provider has the token's issuer"))?
        }
    };
    let header = jsonwebtoken::decode_header(token).map_err(|_| refuse("not a JWT"))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(refuse("unsupported signing algorithm"));
    }
    let jwk = match &header.kid {
        Some(kid) => issuer.keys.find(kid),
        None if issuer.keys.keys.len() == 1 => issuer.keys.keys.first(),
        None => None,
    }
    .ok_or_else(|| refuse("signed by no key of the identity provider"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| refuse("the provider's key is unusable"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[issuer.audience.as_str()]);
    if let Some(iss) = &issuer.issuer {
        validation.set_issuer(&[iss.as_str()]);
    }
    validation.set_required_spec_claims(&["exp", "sub", "aud"]);
    let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind as K;
        refuse(match e.kind() {
            K::ExpiredSignature => "expired",
            K::InvalidAudience => "audience not found in the token",
            K::InvalidIssuer => "issuer does not match",
            K::InvalidSignature => "bad signature",
            K::ImmatureSignature => "not valid yet",
            K::MissingRequiredClaim(_) => "a required claim (exp, sub, aud) is missing",
            _ => "cannot verify it",
        })
    })?;
    let id = identities
        .iter()
        .find(|i| i.issuer == issuer.name && i.subject == data.claims.sub)
        .ok_or_else(|| refuse("no WORKLOAD user has this identity"))?;
    Ok(TokenUser {
        username: id.username.clone(),
        token: String::new(),
        role: id.role,
        user_type: UserType::Workload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_parse_with_colons_in_the_subject() {
        let i = parse_identity("deploy:user=gh:repo:org/app:ref:refs/heads/main").expect("ok");
        assert_eq!(i.username, "deploy");
        assert_eq!(i.role, Role::User);
        assert_eq!(i.issuer, "gh");
        assert_eq!(i.subject, "repo:org/app:ref:refs/heads/main");
        assert!(parse_identity("deploy=gh").is_err());
        assert!(parse_identity("deploy:root=gh:x").is_err());
    }

    #[test]
    fn garbage_is_refused_without_echoing_it() {
        let issuers = vec![Issuer {
            name: "gh".into(),
            keys: JwkSet { keys: vec![] },
            issuer: None,
            audience: "a".into(),
        }];
        let e = authenticate(&issuers, &[], Some("gh"), "not-a-jwt-s3cr3t").expect_err("refused");
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        assert!(!e.message().contains("s3cr3t"));
        let e = authenticate(&issuers, &[], Some("other"), "x").expect_err("refused");
        assert!(e.message().contains("no such identity provider"));
    }
}
