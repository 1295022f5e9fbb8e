//! The `[notify]` table of the serve configuration: parsed by serde,
//! checked without the environment ([`NotifyConfig::check`], at load, so
//! every command reports a broken file), then resolved against the
//! environment's secrets into ready channels ([`NotifyConfig::resolve`], at
//! `serve` start).

use super::smtp::{SmtpChannel, SmtpEndpoint};
use super::webhook::WebhookChannel;
use crate::http::Endpoint;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// The variable holding the SMTP password (never the file).
pub const SMTP_PASSWORD_ENV: &str = "SOXCTL_SMTP_PASSWORD";

/// Longest per-send timeout accepted: the outbox gives a whole delivery 30 s.
const MAX_TIMEOUT_SECONDS: u64 = 25;

const DEFAULT_TIMEOUT_SECONDS: u64 = 10;

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Makes the relative links of messages absolute (`https://soxctl.example.com`).
    pub base_url: Option<String>,
    pub smtp: Option<SmtpConfig>,
    /// `[[notify.webhook]]` tables.
    #[serde(default)]
    pub webhook: Vec<WebhookConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// `smtp://host[:port]` (plain, or `?tls=starttls`) or `smtps://host[:port]`.
    pub url: String,
    /// The From mailbox, `Name <address>` or `address`.
    pub from: String,
    /// The password comes from `SOXCTL_SMTP_PASSWORD`.
    pub username: Option<String>,
    /// Topic globs; none: every message with a `notify` object that has recipients.
    pub topics: Option<Vec<String>>,
    /// PEM roots to trust instead of the system's (a private CA).
    pub ca_file: Option<PathBuf>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `{"text": …}`, which Slack and Teams incoming webhooks accept.
    Slack,
    /// The whole message as JSON, signed with HMAC-SHA256.
    Generic,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub name: String,
    /// The receiver's URL; or `url_env`, for URLs that are secrets themselves
    /// (a Slack incoming-webhook URL is its own credential).
    pub url: Option<String>,
    pub url_env: Option<String>,
    pub format: Format,
    /// The variable holding the HMAC key of a `generic` webhook.
    pub secret_env: Option<String>,
    /// Topic globs; none: every topic.
    pub topics: Option<Vec<String>>,
    pub ca_file: Option<PathBuf>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

/// A configuration that cannot work, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[notify] {at}: {reason}")]
pub struct ConfigError {
    /// The key at fault, e.g. `webhook "siem" secret_env`.
    pub at: String,
    pub reason: String,
}

fn error(at: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        at: at.into(),
        reason: reason.into(),
    }
}

/// Channels ready to send, secrets resolved.
pub struct Channels {
    pub(super) base_url: Option<String>,
    pub(super) smtp: Option<SmtpChannel>,
    pub(super) webhooks: Vec<WebhookChannel>,
}

impl Channels {
    /// No channel at all: every message is settled without sending.
    pub fn is_empty(&self) -> bool {
        self.smtp.is_none() && self.webhooks.is_empty()
    }

    /// One line per channel for the start-up log (never a secret).
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(smtp) = &self.smtp {
            lines.push(format!(
                "email through {} ({})",
                smtp.describe(),
                smtp.topics.join(", ")
            ));
        }
        for hook in &self.webhooks {
            lines.push(format!(
                "webhook {} ({:?}) to {} ({})",
                hook.name,
                hook.format,
                hook.endpoint.describe(),
                hook.topics.join(", ")
            ));
        }
        lines
    }
}

fn check_topics(at: &str, topics: Option<&Vec<String>>) -> Result<Vec<String>, ConfigError> {
    let Some(topics) = topics else {
        return Ok(vec!["*".to_owned()]);
    };
    if topics.is_empty() {
        return Err(error(
            format!("{at} topics"),
            "is empty, so nothing would be sent: remove the key to send every topic, or list globs like \"request.*\"",
        ));
    }
    for topic in topics {
        if topic.is_empty() || topic.len() > soxctl_store::outbox::MAX_TOPIC_LEN {
            return Err(error(
                format!("{at} topics"),
                format!(
                    "{topic:?} is not a topic glob (1 to 200 bytes, `*` for any run of characters)"
                ),
            ));
        }
    }
    Ok(topics.clone())
}

fn check_timeout(at: &str, seconds: u64) -> Result<Duration, ConfigError> {
    if seconds == 0 || seconds > MAX_TIMEOUT_SECONDS {
        return Err(error(
            format!("{at} timeout_seconds"),
            format!(
                "is {seconds}: use 1 to {MAX_TIMEOUT_SECONDS} (a whole delivery must end within the outbox's 30 s)"
            ),
        ));
    }
    Ok(Duration::from_secs(seconds))
}

fn check_env_name(at: &str, name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(error(
            at,
            format!(
                "{name:?} is not an environment variable name: it names the variable that holds the secret (e.g. SOXCTL_WEBHOOK_SECRET), never the secret itself"
            ),
        ))
    }
}

/// Webhook names become channel keys in the store and labels in logs.
fn check_name(name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(error(
            format!("webhook {name:?} name"),
            "use 1 to 64 letters, digits, '-', '_' or '.' (e.g. slack-sox)",
        ))
    }
}

fn read_ca(at: &str, path: Option<&PathBuf>) -> Result<Option<Vec<u8>>, ConfigError> {
    path.map(|p| {
        std::fs::read(p).map_err(|e| {
            error(
                format!("{at} ca_file"),
                format!("cannot read {}: {e}", p.display()),
            )
        })
    })
    .transpose()
}

impl NotifyConfig {
    /// Everything that can be checked without the environment.
    pub fn check(&self) -> Result<(), ConfigError> {
        self.check_shared()?;
        if let Some(smtp) = &self.smtp {
            smtp.check()?;
        }
        for hook in &self.webhook {
            hook.check()?;
        }
        Ok(())
    }

    /// What no single channel can check: the base URL, unique names.
    fn check_shared(&self) -> Result<(), ConfigError> {
        if let Some(base) = &self.base_url {
            Endpoint::parse(base).map_err(|reason| error("base_url", reason))?;
        }
        let mut names = std::collections::BTreeSet::new();
        for hook in &self.webhook {
            if !names.insert(hook.name.as_str()) {
                return Err(error(
                    format!("webhook {:?}", hook.name),
                    "the name is used twice: every [[notify.webhook]] needs its own name",
                ));
            }
        }
        Ok(())
    }

    /// The channels, with secrets read through `env` (the process
    /// environment in `serve`; a map in tests).
    pub fn resolve(&self, env: impl Fn(&str) -> Option<String>) -> Result<Channels, ConfigError> {
        // Each channel checks itself as it resolves.
        self.check_shared()?;
        let env = |name: &str| env(name).filter(|v| !v.is_empty());
        let smtp = match &self.smtp {
            None => None,
            Some(smtp) => Some(smtp.resolve(&env)?),
        };
        let webhooks = self
            .webhook
            .iter()
            .map(|hook| hook.resolve(&env))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Channels {
            base_url: self
                .base_url
                .as_ref()
                .map(|b| b.trim_end_matches('/').to_owned()),
            smtp,
            webhooks,
        })
    }
}

impl SmtpConfig {
    /// The endpoint, topics and timeout, checked.
    fn check(&self) -> Result<(SmtpEndpoint, Vec<String>, Duration), ConfigError> {
        let endpoint =
            SmtpEndpoint::parse(&self.url).map_err(|reason| error("smtp url", reason))?;
        super::smtp::parse_mailbox(&self.from).map_err(|reason| error("smtp from", reason))?;
        let topics = check_topics("smtp", self.topics.as_ref())?;
        let timeout = check_timeout("smtp", self.timeout_seconds)?;
        if self.username.is_some() && !endpoint.encrypted() {
            return Err(error(
                "smtp username",
                "credentials would cross the network in clear: use smtps:// or smtp://…?tls=starttls",
            ));
        }
        if self.ca_file.is_some() && !endpoint.encrypted() {
            return Err(error(
                "smtp ca_file",
                "is set but the connection is not encrypted: use smtps:// or ?tls=starttls",
            ));
        }
        Ok((endpoint, topics, timeout))
    }

    fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<SmtpChannel, ConfigError> {
        let (endpoint, topics, timeout) = self.check()?;
        let credentials = match &self.username {
            None => None,
            Some(user) => {
                let password = env(SMTP_PASSWORD_ENV).ok_or_else(|| {
                    error(
                        "smtp username",
                        format!("is set but {SMTP_PASSWORD_ENV} (the password) is not"),
                    )
                })?;
                Some((user.clone(), password))
            }
        };
        let ca = read_ca("smtp", self.ca_file.as_ref())?;
        SmtpChannel::new(
            endpoint,
            &self.from,
            credentials,
            ca.as_deref(),
            topics,
            timeout,
        )
        .map_err(|reason| error("smtp", reason))
    }
}

impl WebhookConfig {
    /// How errors name this webhook.
    fn label(&self) -> String {
        format!("webhook {:?}", self.name)
    }

    fn at(&self, key: &str) -> String {
        format!("{} {key}", self.label())
    }

    /// The topics and timeout, checked.
    fn check(&self) -> Result<(Vec<String>, Duration), ConfigError> {
        check_name(&self.name)?;
        match (&self.url, &self.url_env) {
            (Some(url), None) => {
                Endpoint::parse(url).map_err(|reason| error(self.at("url"), reason))?;
            }
            (None, Some(var)) => check_env_name(&self.at("url_env"), var)?,
            _ => {
                return Err(error(
                    self.at("url"),
                    "set exactly one of url and url_env (the variable holding a URL that is itself a secret)",
                ));
            }
        }
        match (self.format, &self.secret_env) {
            (Format::Generic, None) => {
                return Err(error(
                    self.at("secret_env"),
                    "is missing: a generic webhook is signed with HMAC-SHA256; name the variable that holds the key (e.g. secret_env = \"SOXCTL_WEBHOOK_SECRET\")",
                ));
            }
            (Format::Generic, Some(var)) => check_env_name(&self.at("secret_env"), var)?,
            (Format::Slack, Some(_)) => {
                return Err(error(
                    self.at("secret_env"),
                    "Slack and Teams incoming webhooks are not signed (their URL is the secret: use url_env); remove secret_env or use format = \"generic\"",
                ));
            }
            (Format::Slack, None) => {}
        }
        Ok((
            check_topics(&self.label(), self.topics.as_ref())?,
            check_timeout(&self.label(), self.timeout_seconds)?,
        ))
    }

    fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<WebhookChannel, ConfigError> {
        let (topics, timeout) = self.check()?;
        let url = match (&self.url, &self.url_env) {
            (Some(url), _) => url.clone(),
            (None, Some(var)) => env(var).ok_or_else(|| {
                error(self.at("url_env"), format!("the variable {var} is not set"))
            })?,
            (None, None) => return Err(error(self.at("url"), "is missing")),
        };
        let endpoint = Endpoint::parse(&url).map_err(|reason| {
            // A URL from the environment may be a credential: never echo it.
            let reason = if self.url.is_some() {
                reason
            } else {
                "the URL in the variable is not valid".to_owned()
            };
            error(self.at("url"), reason)
        })?;
        let secret = match &self.secret_env {
            None => None,
            Some(var) => Some(env(var).ok_or_else(|| {
                error(
                    self.at("secret_env"),
                    format!("the variable {var} (the HMAC key) is not set"),
                )
            })?),
        };
        let ca = read_ca(&self.label(), self.ca_file.as_ref())?;
        let tls = crate::tls::client_config(ca.as_deref())
            .map_err(|reason| error(self.at("ca_file"), reason))?;
        Ok(WebhookChannel {
            name: self.name.clone(),
            format: self.format,
            endpoint,
            secret: secret.map(String::into_bytes),
            topics,
            timeout,
            tls,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> NotifyConfig {
        #[derive(Deserialize)]
        struct Top {
            notify: NotifyConfig,
        }
        match toml::from_str::<Top>(text) {
            Ok(top) => top.notify,
            Err(e) => panic!("not a config: {e}"),
        }
    }

    fn resolve_err(text: &str, env: &[(&str, &str)]) -> ConfigError {
        let config = parse(text);
        match config.resolve(|name| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e,
        }
    }

    const GOOD: &str = r#"
[notify]
base_url = "https://soxctl.example.com/"
[notify.smtp]
url = "smtp://127.0.0.1:2525"
from = "soxctl <soxctl@example.com>"
topics = ["request.*", "breakglass.used"]
[[notify.webhook]]
name = "slack-sox"
url = "https://hooks.slack.com/services/T/B/X"
format = "slack"
topics = ["sod.violation.opened"]
[[notify.webhook]]
name = "siem"
url = "https://siem.example.com/hook"
format = "generic"
secret_env = "SOXCTL_WEBHOOK_SECRET"
"#;

    #[test]
    fn a_good_configuration_resolves() {
        let channels = match parse(GOOD)
            .resolve(|name| (name == "SOXCTL_WEBHOOK_SECRET").then(|| "k".to_owned()))
        {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            channels.base_url.as_deref(),
            Some("https://soxctl.example.com")
        );
        assert_eq!(channels.webhooks.len(), 2);
        assert_eq!(channels.webhooks[1].topics, vec!["*"]);
        let lines = channels.describe().join("\n");
        assert!(lines.contains("webhook siem"), "{lines}");
        assert!(
            !lines.contains("/services/T/B/X"),
            "the Slack URL is a secret: {lines}"
        );
    }

    #[test]
    fn an_unknown_format_is_refused_by_name() {
        let text = GOOD.replace("format = \"slack\"", "format = \"teams\"");
        let err = match toml::from_str::<toml::Value>(&text)
            .ok()
            .and_then(|v| v.get("notify").cloned())
            .map(NotifyConfig::deserialize)
        {
            Some(Err(e)) => e.to_string(),
            other => panic!("accepted: {other:?}"),
        };
        assert!(err.contains("teams") && err.contains("slack"), "{err}");
    }

    #[test]
    fn bad_urls_are_refused() {
        let e = resolve_err(
            &GOOD.replace("https://siem.example.com/hook", "ftp://siem"),
            &[],
        );
        assert!(e.at.contains("siem") && e.reason.contains("http"), "{e}");
        let e = resolve_err(&GOOD.replace("smtp://127.0.0.1:2525", "smtp://"), &[]);
        assert_eq!(e.at, "smtp url", "{e}");
        let e = resolve_err(
            &GOOD.replace("smtp://127.0.0.1:2525", "smtp://h?tls=maybe"),
            &[],
        );
        assert!(e.reason.contains("starttls"), "{e}");
        let e = resolve_err(
            &GOOD.replace("https://soxctl.example.com/", "soxctl.example.com"),
            &[],
        );
        assert_eq!(e.at, "base_url", "{e}");
    }

    #[test]
    fn a_missing_secret_is_refused_at_start() {
        let e = resolve_err(GOOD, &[]);
        assert!(
            e.at.contains("secret_env") && e.reason.contains("SOXCTL_WEBHOOK_SECRET"),
            "{e}"
        );
        // An empty variable is no variable.
        let e = resolve_err(GOOD, &[("SOXCTL_WEBHOOK_SECRET", "")]);
        assert!(e.reason.contains("not set"), "{e}");
        let e = resolve_err(
            &GOOD.replace("secret_env = \"SOXCTL_WEBHOOK_SECRET\"\n", ""),
            &[],
        );
        assert!(e.reason.contains("HMAC"), "{e}");
        let e = resolve_err(
            &GOOD.replace("SOXCTL_WEBHOOK_SECRET", "hunter2 is my key"),
            &[],
        );
        assert!(e.reason.contains("never the secret"), "{e}");
    }

    #[test]
    fn credentials_need_encryption_and_a_password() {
        let text = GOOD.replace("from = ", "username = \"mailer\"\nfrom = ");
        let e = resolve_err(&text, &[("SOXCTL_WEBHOOK_SECRET", "k")]);
        assert!(e.reason.contains("in clear"), "{e}");
        let text = text.replace("smtp://127.0.0.1:2525", "smtps://mail.example.com");
        let e = resolve_err(&text, &[("SOXCTL_WEBHOOK_SECRET", "k")]);
        assert!(e.reason.contains(SMTP_PASSWORD_ENV), "{e}");
    }

    #[test]
    fn names_are_unique_and_topics_not_empty() {
        let text = GOOD.replace("name = \"siem\"", "name = \"slack-sox\"");
        let e = resolve_err(&text, &[("SOXCTL_WEBHOOK_SECRET", "k")]);
        assert!(e.reason.contains("twice"), "{e}");
        let text = GOOD.replace("topics = [\"sod.violation.opened\"]", "topics = []");
        let e = resolve_err(&text, &[("SOXCTL_WEBHOOK_SECRET", "k")]);
        assert!(e.reason.contains("empty"), "{e}");
    }
}
