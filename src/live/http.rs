//! One HTTPS GET with a bearer token, answered with JSON: how a GitHub Actions job asks its
//! runner for an OIDC token (`ACTIONS_ID_TOKEN_REQUEST_URL`). hyper over rustls (the system's
//! roots, ring); plaintext `http` only to a loopback address (a test's endpoint), since the
//! request carries a bearer token. The token never enters an error message.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use super::auth::Token;

/// The largest answer read.
const MAX_BODY: usize = 1 << 20;

/// A URL split into what the request needs.
#[derive(Debug, PartialEq, Eq)]
struct Url {
    https: bool,
    host: String,
    port: u16,
    /// Path and query (`/x?y=z`).
    path: String,
}

fn parse(url: &str) -> Result<Url, String> {
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err("the URL must start with https://".into());
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let path = if path.starts_with('?') { format!("/{path}") } else { path };
    if authority.contains('@') {
        return Err("the URL must not hold credentials".into());
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
            (h.to_string(), p.parse::<u16>().map_err(|_| "bad port in the URL".to_string())?)
        }
        _ => (authority.to_string(), if https { 443 } else { 80 }),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    if host.is_empty() {
        return Err("the URL has no host".into());
    }
    if !https && !is_loopback(&host) {
        return Err("plain http is refused except to a loopback address; use https".into());
    }
    Ok(Url { https, host, port, path })
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Adds `key=value` (percent-encoded) to a URL's query.
pub fn with_query(url: &str, key: &str, value: &str) -> String {
    let mut enc = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{key}={enc}")
}

/// GETs `url` with `Authorization: Bearer <token>` and parses the answer as JSON.
pub async fn get_json(
    url: &str,
    bearer: &Token,
    timeout: Duration,
) -> Result<serde_json::Value, String> {
    match tokio::time::timeout(timeout, get(url, bearer)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {}", humantime::format_duration(timeout))),
    }
}

async fn get(url: &str, bearer: &Token) -> Result<serde_json::Value, String> {
    let u = parse(url)?;
    let tcp = TcpStream::connect((u.host.as_str(), u.port))
        .await
        .map_err(|e| format!("cannot connect to {}:{}: {e}", u.host, u.port))?;
    let req = hyper::Request::get(u.path.as_str())
        .header(hyper::header::HOST, u.host.as_str())
        .header(hyper::header::AUTHORIZATION, format!("Bearer {}", bearer.expose()))
        .header(hyper::header::ACCEPT, "application/json")
        .header(hyper::header::USER_AGENT, concat!("cordium/", env!("CARGO_PKG_VERSION")))
        .body(Empty::<Bytes>::new())
        .map_err(|_| "cannot build the request".to_string())?;
    let (status, body) = if u.https {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(u.host.clone())
            .map_err(|_| "bad host name".to_string())?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake with {}: {e}", u.host))?;
        send(TokioIo::new(tls), req).await?
    } else {
        send(TokioIo::new(tcp), req).await?
    };
    if !status.is_success() {
        return Err(format!("answered HTTP {}", status.as_u16()));
    }
    serde_json::from_slice(&body).map_err(|_| "the answer is not JSON".to_string())
}

async fn send<T>(
    io: T,
    req: hyper::Request<Empty<Bytes>>,
) -> Result<(hyper::StatusCode, Bytes), String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = sender.send_request(req).await.map_err(|e| format!("HTTP request: {e}"))?;
    let status = resp.status();
    let body = Limited::new(resp.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|_| "cannot read the answer (or it is over 1 MiB)".to_string())?
        .to_bytes();
    driver.abort();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_plain_http_is_for_loopback_only() {
        let u = parse("https://runner.example/token?api-version=2.0").expect("ok");
        assert_eq!(
            u,
            Url {
                https: true,
                host: "runner.example".into(),
                port: 443,
                path: "/token?api-version=2.0".into()
            }
        );
        let u = parse("http://127.0.0.1:8080?x=1").expect("ok");
        assert_eq!((u.port, u.path.as_str()), (8080, "/?x=1"));
        assert!(parse("http://runner.example/t").is_err());
        assert!(parse("ftp://x").is_err());
        assert!(parse("https://user:pw@x/").is_err());
        assert_eq!(
            with_query("https://x/t?a=1", "audience", "https://h"),
            "https://x/t?a=1&audience=https%3A%2F%2Fh"
        );
        assert_eq!(with_query("https://x/t", "audience", "a b"), "https://x/t?audience=a%20b");
    }
}
