//! Workflow commands talk to a running server (DESIGN A4): `--server URL`
//! (env `SOXCTL_SERVER`) and the bearer token in `SOXCTL_TOKEN`.

use crate::exit::{Exit, Failure, failed};
use clap::Args;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use soxctl_connectors::http::{Call, Endpoint, request};
use std::sync::Arc;
use std::time::Duration;

/// The token variable; never an option, so it stays out of shell history and `ps`.
pub const TOKEN_ENV: &str = "SOXCTL_TOKEN";

#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The soxctl server (`soxctl serve`).
    #[arg(
        long,
        env = "SOXCTL_SERVER",
        value_name = "URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,
    /// A PEM file of CA certificates for an https server with a private CA (default: the system's).
    #[arg(long, env = "SOXCTL_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<std::path::PathBuf>,
}

pub struct Client {
    endpoint: Endpoint,
    tls: Arc<rustls::ClientConfig>,
    token: String,
    base_path: String,
}

const TIMEOUT: Duration = Duration::from_secs(30);

impl Client {
    pub fn new(args: &ServerArgs) -> Result<Client, Failure> {
        let endpoint = Endpoint::parse(&args.server).map_err(|e| {
            failed(
                Exit::Usage,
                anyhow::anyhow!("--server: {e}; give the server's URL, e.g. http://127.0.0.1:8080"),
            )
        })?;
        let token = std::env::var(TOKEN_ENV).unwrap_or_default();
        if token.trim().is_empty() {
            return Err(failed(
                Exit::Usage,
                anyhow::anyhow!(
                    "{TOKEN_ENV} is not set: export the token from `soxctl token create` (a person-bound token with \
                     scope request to ask and approve; scope gate for pipelines)"
                ),
            ));
        }
        let ca = match &args.ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                failed(
                    Exit::Usage,
                    anyhow::anyhow!("cannot read --ca-file {}: {e}", path.display()),
                )
            })?),
            None => None,
        };
        let tls = soxctl_connectors::tls::client_config(ca.as_deref())
            .map_err(|e| failed(Exit::Usage, anyhow::anyhow!("TLS set-up: {e}")))?;
        let base_path = endpoint.path().trim_end_matches('/').to_owned();
        Ok(Client {
            endpoint,
            tls,
            token: token.trim().to_owned(),
            base_path,
        })
    }

    /// The answer's body on a 2xx; otherwise the problem's detail as the
    /// failure, with its exit code.
    async fn call(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, Failure> {
        let full = format!("{}{path}", self.base_path);
        let mut headers = vec![("authorization", format!("Bearer {}", self.token))];
        if method == hyper::Method::POST {
            // A retried command must not act twice.
            headers.push((
                "idempotency-key",
                format!("cli-{}", uuid::Uuid::new_v4().simple()),
            ));
        }
        let call = Call {
            method,
            path: Some(&full),
            headers: &headers,
            body,
        };
        let reply = request(&self.endpoint, &self.tls, call, TIMEOUT)
            .await
            .map_err(|e| {
                failed(
                    Exit::Usage,
                    anyhow::anyhow!(
                        "{e}; is `soxctl serve` running there (--server, SOXCTL_SERVER)?"
                    ),
                )
            })?;
        if (200..300).contains(&reply.status) {
            return Ok(reply.body);
        }
        let detail = serde_json::from_slice::<ProblemDetail>(&reply.body)
            .map(|p| p.detail)
            .unwrap_or_else(|_| String::from_utf8_lossy(&reply.body).into_owned());
        // Refusals and state conflicts are the check failing (exit 1); bad
        // input and unknown things are input errors (exit 2).
        let code = match reply.status {
            400 | 404 | 413 | 422 => Exit::Usage,
            _ => Exit::CheckFailed,
        };
        Err(failed(
            code,
            anyhow::anyhow!("the server answered {}: {detail}", reply.status),
        ))
    }

    /// The answer read as the API's view `T`: an answer of another shape
    /// (a server of another version) is an error, never a default.
    fn read<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, Failure> {
        serde_json::from_slice(body).map_err(|e| {
            failed(
                Exit::CheckFailed,
                anyhow::anyhow!(
                    "the server's answer to {path} is not what this soxctl expects ({e}); is the server \
                     running the same version of soxctl?"
                ),
            )
        })
    }

    pub async fn get_as<T: DeserializeOwned>(&self, path: &str) -> Result<T, Failure> {
        let body = self.call(hyper::Method::GET, path, None).await?;
        Self::read(path, &body)
    }

    pub async fn post_as<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Failure> {
        let body = serde_json::to_vec(body)?;
        let answer = self.call(hyper::Method::POST, path, Some(body)).await?;
        Self::read(path, &answer)
    }

    /// A request with its decisions, grants and delegates.
    pub async fn request(
        &self,
        id: &soxctl_model::ids::RequestId,
    ) -> Result<soxctl_api::requests::RequestDetail, Failure> {
        self.get_as(&format!("/api/v1/requests/{}", query(id.as_str())))
            .await
    }
}

/// The part of an RFC 9457 problem body the command line shows.
#[derive(Deserialize)]
struct ProblemDetail {
    detail: String,
}

/// `value` as a query parameter (percent-encoded).
pub fn query(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
