//! Workload identity end to end (issue 15), with no secret in CI: the test makes an ES256 key
//! pair, serves its public half as the JWKS of `cordium serve --oidc-issuer`, signs JWTs
//! itself, and logs in through the real binary with `OCTELIUM_AUTH_ASSERTION`: a JWT from an
//! environment variable, from a (service-account token) file, and from a GitHub-Actions-like
//! token endpoint the test runs on 127.0.0.1. Expired, wrongly addressed and foreign tokens are
//! refused, and no token appears in any output.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

use crate::apply::text;
use crate::support::{cordium_as_admin, Serve};

const ISSUER: &str = "https://token.actions.test";
const SUBJECT: &str = "repo:shop/app:ref:refs/heads/main";

struct Key {
    pkcs8: Vec<u8>,
    jwk: serde_json::Value,
}

fn key(kid: &str) -> Key {
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("generate");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .expect("parse");
    // An uncompressed P-256 point: 0x04, then x and y (32 bytes each).
    let public = pair.public_key().as_ref();
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let jwk = serde_json::json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
        "x": b64(&public[1..33]), "y": b64(&public[33..65]),
    });
    Key { pkcs8: pkcs8.as_ref().to_vec(), jwk }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs()
}

fn sign(key: &Key, kid: &str, claims: serde_json::Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.to_string());
    let k = jsonwebtoken::EncodingKey::from_ec_der(&key.pkcs8);
    jsonwebtoken::encode(&header, &claims, &k).expect("sign")
}

fn claims(aud: &str, exp: u64) -> serde_json::Value {
    serde_json::json!({"iss": ISSUER, "sub": SUBJECT, "aud": aud, "exp": exp, "iat": now()})
}

fn serve_with_issuer(dir: &Path, key: &Key) -> Serve {
    let jwks = dir.join("jwks.json");
    std::fs::write(&jwks, serde_json::json!({"keys": [key.jwk]}).to_string()).expect("write");
    let issuer = format!("gh={},issuer={ISSUER}", jwks.display());
    let user = format!("deploy=gh:{SUBJECT}");
    Serve::start(&["--oidc-issuer", &issuer, "--oidc-user", &user])
}

/// `cordium login` with only the assertion (no token in the environment).
fn login(serve: &Serve, env: &[(&str, &str)]) -> Output {
    let mut c = cordium_as_admin();
    c.env_remove("OCTELIUM_AUTH_TOKEN").env_remove("CORDIUM_USERNAME");
    c.env_remove("ACTIONS_ID_TOKEN_REQUEST_URL").env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    for (k, v) in env {
        c.env(k, v);
    }
    c.args(["login", "--endpoint", &serve.url]).output().expect("cordium runs")
}

fn assert_no_secret(o: &Output, secrets: &[&str]) {
    let all = text(o);
    for s in secrets {
        assert!(!all.contains(s), "a token is in the output: {all}");
    }
}

#[test]
fn an_assertion_signed_by_the_test_issuer_logs_in_as_its_workload_user() {
    let dir = tempfile::tempdir().expect("tempdir");
    let k = key("k1");
    let serve = serve_with_issuer(dir.path(), &k);
    let good = sign(&k, "k1", claims("https://127.0.0.1", now() + 600));

    // A JWT from an environment variable, the provider named.
    let o = login(&serve, &[("OCTELIUM_AUTH_ASSERTION", "gh:jwt:env=CI_JWT"), ("CI_JWT", &good)]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("Logged in to {} as deploy (WORKLOAD user)", serve.url)),
        "{out}"
    );
    assert_no_secret(&o, &[&good]);

    // From a file (a Kubernetes service-account token), with the flag instead of the variable.
    let file = dir.path().join("sa-token");
    std::fs::write(&file, format!("{good}\n")).expect("write");
    let mut c = cordium_as_admin();
    c.env_remove("OCTELIUM_AUTH_TOKEN").env_remove("CORDIUM_USERNAME");
    let spec = format!("gh:k8s:file={}", file.display());
    let o = c
        .args(["login", "--endpoint", &serve.url, "--auth-assertion", &spec])
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("as deploy (WORKLOAD user)"));

    // A whole plan as that user.
    let cfg = dir.path().join("cfg");
    std::fs::create_dir_all(&cfg).expect("mkdir");
    std::fs::write(cfg.join("main.hcl"), "space \"ci\" {}\n").expect("write");
    let mut c = cordium_as_admin();
    c.env_remove("OCTELIUM_AUTH_TOKEN").env_remove("CORDIUM_USERNAME");
    c.env("OCTELIUM_AUTH_ASSERTION", "gh:jwt:env=CI_JWT").env("CI_JWT", &good);
    let o = c.args(["plan", "--endpoint", &serve.url]).arg(&cfg).output().expect("runs");
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("as deploy"), "{}", text(&o));
    assert_no_secret(&o, &[&good]);

    // Refused: expired, another audience, another key under the same kid, an unknown subject,
    // a bad spec. Each says why, and none echoes the token.
    let expired = sign(&k, "k1", claims("https://127.0.0.1", now() - 3600));
    let elsewhere = sign(&k, "k1", claims("https://other.example", now() + 600));
    let foreign = sign(&key("k1"), "k1", claims("https://127.0.0.1", now() + 600));
    let mut stranger_claims = claims("https://127.0.0.1", now() + 600);
    stranger_claims["sub"] = "repo:other/app:ref:refs/heads/main".into();
    let stranger = sign(&k, "k1", stranger_claims);
    for (jwt, why) in [
        (&expired, "expired"),
        (&elsewhere, "audience not found in the token"),
        (&foreign, "bad signature"),
        (&stranger, "no WORKLOAD user has this identity"),
    ] {
        let o = login(&serve, &[("OCTELIUM_AUTH_ASSERTION", "gh:jwt:env=CI_JWT"), ("CI_JWT", jwt)]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("the cluster refused the assertion") && err.contains(why), "{err}");
        assert_no_secret(&o, &[jwt]);
    }
    let o = login(&serve, &[("OCTELIUM_AUTH_ASSERTION", "gh:jwt:env=UNSET_VARIABLE_X")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("UNSET_VARIABLE_X is not set"));
}

/// A GitHub-Actions-like token endpoint: answers `{"value": JWT}` to one GET carrying the
/// request token, and reports the request line it got.
fn token_endpoint(
    request_token: &'static str,
    jwt: String,
) -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url =
        format!("http://{}/_apis/token?api-version=2.0", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut request_line = String::new();
        reader.read_line(&mut request_line).expect("read");
        let mut authorized = false;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if line.to_ascii_lowercase().starts_with("authorization:")
                && line.trim_end().ends_with(&format!("Bearer {request_token}"))
            {
                authorized = true;
            }
        }
        let (status, body) = if authorized {
            ("200 OK", serde_json::json!({"value": jwt}).to_string())
        } else {
            ("401 Unauthorized", "{}".to_string())
        };
        let mut stream = stream;
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        request_line
    });
    (url, handle)
}

#[test]
fn github_actions_oidc_tokens_are_asked_of_the_runner_with_the_audience() {
    let dir = tempfile::tempdir().expect("tempdir");
    let k = key("k1");
    let serve = serve_with_issuer(dir.path(), &k);
    let jwt = sign(&k, "k1", claims("https://127.0.0.1", now() + 600));
    let (url, endpoint) = token_endpoint("gh-request-token-42", jwt.clone());
    // No provider named: the server finds it by the token's issuer.
    let o = login(
        &serve,
        &[
            ("OCTELIUM_AUTH_ASSERTION", "github-actions"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", &url),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-request-token-42"),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("as deploy (WORKLOAD user)"));
    assert_no_secret(&o, &[&jwt, "gh-request-token-42"]);
    let request = endpoint.join().expect("endpoint");
    assert_eq!(
        request.trim_end(),
        "GET /_apis/token?api-version=2.0&audience=https%3A%2F%2F127.0.0.1 HTTP/1.1"
    );

    // Outside a job (no runner variables): said, not a silent fall-back.
    let o = login(&serve, &[("OCTELIUM_AUTH_ASSERTION", "github-actions")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ACTIONS_ID_TOKEN_REQUEST_URL"));
}
