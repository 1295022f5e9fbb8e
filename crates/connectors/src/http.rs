//! One HTTP/1.1 exchange per call, over hyper's connection API: webhook
//! POSTs for notifications, and the command line's calls to a server.
//!
//! Why not a client library: notifications are a few requests a minute and
//! a command makes one or two, so a pool buys nothing, and hyper (built for axum already), tokio-rustls and
//! the system roots (built for LDAP already) cover HTTPS with no new crate.
//! reqwest or hyper-util's pooled client would add their own stacks (and
//! hyper-rustls) to every clean build for no gain at this volume.
//! Redirects are not followed: a webhook that moves is misconfigured, and
//! following one would send a signed body somewhere nobody configured.

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// Bytes of a failed response kept for the error message.
const EXCERPT: usize = 200;

/// Response bytes read at most: a receiver cannot make us buffer much.
const MAX_RESPONSE: usize = 64 * 1024;

/// Where requests go; parsed once at start.
#[derive(Debug, Clone)]
pub struct Endpoint {
    uri: Uri,
    https: bool,
    /// Without IPv6 brackets, for connecting and for TLS names.
    host: String,
    port: u16,
}

impl Endpoint {
    /// An absolute `http://` or `https://` URL with a host.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("{url:?} is not a URL ({e})"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => {
                return Err(format!(
                    "{url:?} is not an absolute http:// or https:// URL"
                ));
            }
        };
        let Some(authority) = uri.authority() else {
            return Err(format!("{url:?} names no host"));
        };
        if authority.as_str().contains('@') {
            return Err(format!(
                "{url:?} carries credentials before the host: soxctl does not send them"
            ));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err(format!("{url:?} names no host"));
        }
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        Ok(Endpoint {
            uri,
            https,
            host,
            port,
        })
    }

    /// Scheme, host and port: what logs may show (paths and queries of
    /// webhook URLs often hold tokens).
    pub fn describe(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }

    fn host_header(&self) -> String {
        self.uri
            .authority()
            .map_or_else(|| self.host.clone(), |a| a.as_str().to_owned())
    }

    /// The path and query of the URL (`/` when it has none).
    pub fn path(&self) -> &str {
        self.uri.path_and_query().map_or("/", |p| p.as_str())
    }
}

/// Why a POST did not deliver.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("cannot connect to {endpoint}: {source}")]
    Connect {
        endpoint: String,
        source: std::io::Error,
    },
    #[error("TLS with {endpoint} failed: {reason}")]
    Tls { endpoint: String, reason: String },
    #[error("HTTP exchange with {endpoint} failed: {source}")]
    Http {
        endpoint: String,
        source: hyper::Error,
    },
    #[error("no answer from {endpoint} within {timeout:?}")]
    Timeout { endpoint: String, timeout: Duration },
    /// Anything but 2xx; the body is cut to a short excerpt.
    #[error("{endpoint} answered {status}: {excerpt}")]
    Status {
        endpoint: String,
        status: u16,
        excerpt: String,
    },
    #[error("cannot build the request: {0}")]
    Request(String),
}

/// POSTs `body` with `headers`; Ok on 2xx. The whole exchange (connect,
/// TLS, request, response) is bounded by `timeout`.
pub async fn post(
    endpoint: &Endpoint,
    tls: &Arc<rustls::ClientConfig>,
    headers: &[(&str, String)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<(), PostError> {
    let call = Call {
        method: hyper::Method::POST,
        path: None,
        headers,
        body: Some(body),
    };
    let reply = request(endpoint, tls, call, timeout).await?;
    if (200..300).contains(&reply.status) {
        Ok(())
    } else {
        Err(PostError::Status {
            endpoint: endpoint.describe(),
            status: reply.status,
            excerpt: excerpt(&reply.body),
        })
    }
}

/// One request: method, path and query (default: the endpoint's own),
/// extra headers, and a JSON body if any.
pub struct Call<'a> {
    pub method: hyper::Method,
    pub path: Option<&'a str>,
    pub headers: &'a [(&'a str, String)],
    pub body: Option<Vec<u8>>,
}

/// A response: status and body (at most 64 KiB is read, more is an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Makes `call` and reads the whole response, within `timeout`.
pub async fn request(
    endpoint: &Endpoint,
    tls: &Arc<rustls::ClientConfig>,
    call: Call<'_>,
    timeout: Duration,
) -> Result<Reply, PostError> {
    match tokio::time::timeout(timeout, exchange(endpoint, tls, call)).await {
        Ok(result) => result,
        Err(_) => Err(PostError::Timeout {
            endpoint: endpoint.describe(),
            timeout,
        }),
    }
}

async fn exchange(
    endpoint: &Endpoint,
    tls: &Arc<rustls::ClientConfig>,
    call: Call<'_>,
) -> Result<Reply, PostError> {
    let shown = endpoint.describe();
    let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|source| PostError::Connect {
            endpoint: shown.clone(),
            source,
        })?;
    let path = call.path.unwrap_or_else(|| endpoint.path());
    let mut request = Request::builder()
        .method(call.method)
        .uri(path)
        .header(hyper::header::HOST, endpoint.host_header())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            hyper::header::USER_AGENT,
            concat!("soxctl/", env!("CARGO_PKG_VERSION")),
        )
        .header(hyper::header::CONNECTION, "close");
    for (name, value) in call.headers {
        request = request.header(*name, value.as_str());
    }
    let request = request
        .body(Full::new(Bytes::from(call.body.unwrap_or_default())))
        .map_err(|e| PostError::Request(e.to_string()))?;
    if endpoint.https {
        let name = rustls::pki_types::ServerName::try_from(endpoint.host.clone()).map_err(|e| {
            PostError::Tls {
                endpoint: shown.clone(),
                reason: e.to_string(),
            }
        })?;
        let stream = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| PostError::Tls {
                endpoint: shown.clone(),
                reason: e.to_string(),
            })?;
        send(&shown, TokioIo::new(stream), request).await
    } else {
        send(&shown, TokioIo::new(tcp), request).await
    }
}

async fn send<T>(shown: &str, io: T, request: Request<Full<Bytes>>) -> Result<Reply, PostError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let http = |source| PostError::Http {
        endpoint: shown.to_owned(),
        source,
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(http)?;
    // The connection future drives the socket; it ends with the exchange
    // (Connection: close) or when the timeout above drops everything.
    let driver = tokio::spawn(connection);
    let response = sender.send_request(request).await.map_err(http)?;
    let status = response.status().as_u16();
    // A body that fails to arrive (or is too long) still leaves the status
    // to report; callers that need the body see it empty.
    let body = Limited::new(response.into_body(), MAX_RESPONSE)
        .collect()
        .await
        .map(|c| c.to_bytes().to_vec())
        .unwrap_or_default();
    driver.abort();
    Ok(Reply { status, body })
}

/// The first [`EXCERPT`] bytes as one line of text.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(EXCERPT)]);
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let line = line.trim().to_owned();
    if line.is_empty() {
        "(empty body)".to_owned()
    } else if bytes.len() > EXCERPT {
        format!("{line}…")
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = match Endpoint::parse("https://hooks.example.com/services/T/B/secret?x=1") {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(e.port, 443);
        assert_eq!(e.path(), "/services/T/B/secret?x=1");
        assert_eq!(e.describe(), "https://hooks.example.com:443");
        let e = match Endpoint::parse("http://[::1]:8080") {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        };
        assert_eq!((e.host.as_str(), e.port, e.path()), ("::1", 8080, "/"));
        assert_eq!(e.describe(), "http://[::1]:8080");
        for bad in [
            "hooks.example.com/x",
            "ftp://h/x",
            "https://",
            "https://u:p@h/x",
            "/x",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn excerpts_are_short_single_lines() {
        assert_eq!(excerpt(b""), "(empty body)");
        assert_eq!(excerpt(b"no\r\nway"), "no  way");
        let long = vec![b'x'; 1000];
        assert_eq!(excerpt(&long).chars().count(), EXCERPT + 1);
    }
}
