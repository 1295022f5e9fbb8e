//! Email through an SMTP relay (lettre, rustls): one message per recipient,
//! so recipients do not see each other's addresses and a retry re-sends
//! only to the people the last attempt did not reach.

use super::message::Notice;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use soxctl_model::time::Timestamp;
use soxctl_store::OutboxMessage;
use std::time::{Duration, SystemTime};

const MESSAGE_ID: HeaderName = HeaderName::new_from_ascii_str("X-Soxctl-Message-Id");
const TOPIC: HeaderName = HeaderName::new_from_ascii_str("X-Soxctl-Topic");
const SEVERITY: HeaderName = HeaderName::new_from_ascii_str("X-Soxctl-Severity");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Security {
    /// `smtp://`: for a relay on the same host or a trusted network.
    Plain,
    /// `smtp://…?tls=starttls`: STARTTLS required, never a silent fallback.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Wrapper,
}

#[derive(Debug, Clone)]
pub(super) struct SmtpEndpoint {
    host: String,
    port: u16,
    security: Security,
}

impl SmtpEndpoint {
    pub(super) fn parse(url: &str) -> Result<SmtpEndpoint, String> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| format!("{url:?} is not a URL ({e})"))?;
        let mut security = match uri.scheme_str() {
            Some("smtp") => Security::Plain,
            Some("smtps") => Security::Wrapper,
            _ => {
                return Err(format!(
                    "{url:?} is neither smtp://host[:port] nor smtps://host[:port]"
                ));
            }
        };
        let authority = uri
            .authority()
            .filter(|a| !a.host().is_empty())
            .ok_or_else(|| format!("{url:?} names no host"))?;
        if authority.as_str().contains('@') {
            return Err(format!(
                "{url:?} carries credentials: set username in the file and the password in SOXCTL_SMTP_PASSWORD"
            ));
        }
        if !matches!(uri.path(), "" | "/") {
            return Err(format!("{url:?} has a path; an SMTP URL has none"));
        }
        match uri.query() {
            None => {}
            Some("tls=starttls") if security == Security::Plain => security = Security::StartTls,
            Some(other) => {
                return Err(format!(
                    "{url:?}: unknown option {other:?}; the only one is ?tls=starttls on smtp://"
                ));
            }
        }
        let default_port = if security == Security::Wrapper {
            465
        } else {
            25
        };
        Ok(SmtpEndpoint {
            host: authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: authority.port_u16().unwrap_or(default_port),
            security,
        })
    }

    pub(super) fn encrypted(&self) -> bool {
        self.security != Security::Plain
    }
}

pub(super) fn parse_mailbox(text: &str) -> Result<Mailbox, String> {
    text.parse::<Mailbox>().map_err(|e| {
        format!("{text:?} is not a mailbox like \"soxctl <soxctl@example.com>\" ({e})")
    })
}

pub(super) struct SmtpChannel {
    endpoint: SmtpEndpoint,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    pub(super) topics: Vec<String>,
}

/// Who a mail goes to, as the store knows them.
pub(super) struct Recipient<'a> {
    pub(super) person_id: &'a str,
    pub(super) name: Option<String>,
    pub(super) address: Address,
}

impl SmtpChannel {
    pub(super) fn new(
        endpoint: SmtpEndpoint,
        from: &str,
        credentials: Option<(String, String)>,
        ca_pem: Option<&[u8]>,
        topics: Vec<String>,
        timeout: Duration,
    ) -> Result<SmtpChannel, String> {
        let from = parse_mailbox(from)?;
        let tls = || -> Result<TlsParameters, String> {
            let mut params = TlsParameters::builder(endpoint.host.clone());
            if let Some(pem) = ca_pem {
                let cert = Certificate::from_pem(pem)
                    .map_err(|e| format!("ca_file holds no usable PEM certificate: {e}"))?;
                params = params
                    .certificate_store(CertificateStore::None)
                    .add_root_certificate(cert);
            }
            params.build_rustls().map_err(|e| format!("TLS: {e}"))
        };
        let security = match endpoint.security {
            Security::Plain => Tls::None,
            Security::StartTls => Tls::Required(tls()?),
            Security::Wrapper => Tls::Wrapper(tls()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&endpoint.host)
            .port(endpoint.port)
            .tls(security)
            .timeout(Some(timeout));
        if let Some((user, password)) = credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(SmtpChannel {
            transport: builder.build(),
            endpoint,
            from,
            topics,
        })
    }

    pub(super) fn describe(&self) -> String {
        let scheme = match self.endpoint.security {
            Security::Plain => "smtp",
            Security::StartTls => "smtp+starttls",
            Security::Wrapper => "smtps",
        };
        format!("{scheme}://{}:{}", self.endpoint.host, self.endpoint.port)
    }

    /// The key under which the store remembers that a person got a message.
    pub(super) fn key(person_id: &str) -> String {
        format!("smtp:{person_id}")
    }

    pub(super) fn compose(
        &self,
        msg: &OutboxMessage,
        notice: &Notice,
        to: &Recipient<'_>,
        base_url: Option<&str>,
        store_id: &str,
        now: Timestamp,
    ) -> Result<Message, String> {
        let mut body = String::new();
        if let Some(text) = notice
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            body.push_str(text);
            body.push_str("\n\n");
        }
        if let Some(link) = notice.absolute_link(base_url) {
            body.push_str(&link);
            body.push_str("\n\n");
        }
        body.push_str(&format!(
            "-- \nsoxctl notification {} (message {}, ledger entry {})\n",
            msg.topic, msg.id, msg.seq
        ));
        let sent = SystemTime::UNIX_EPOCH
            + Duration::from_micros(u64::try_from(now.micros()).unwrap_or(0));
        // Stable across retries, unique per store, message and person: the
        // mail-side deduplication key (and a thread anchor for clients).
        let message_id = format!(
            "<soxctl.{}.{}.{}@{}>",
            atom(store_id),
            msg.id,
            atom(to.person_id),
            self.from.email.domain()
        );
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(to.name.clone(), to.address.clone()))
            .subject(notice.subject_line(&msg.topic))
            .message_id(Some(message_id))
            .date(sent)
            .header(ContentType::TEXT_PLAIN)
            .raw_header(HeaderValue::new(MESSAGE_ID, msg.id.to_string()));
        if is_token(&msg.topic) {
            builder = builder.raw_header(HeaderValue::new(TOPIC, msg.topic.clone()));
        }
        if let Some(severity) = notice.severity.as_deref().filter(|s| is_token(s)) {
            builder = builder.raw_header(HeaderValue::new(SEVERITY, severity.to_owned()));
        }
        builder
            .body(body)
            .map_err(|e| format!("cannot build the mail: {e}"))
    }

    pub(super) async fn send(&self, mail: Message) -> Result<(), String> {
        self.transport
            .send(mail)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP {}: {e}", self.describe()))
    }
}

/// Raw header values are written as they are: only plain tokens go there.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// `s` reduced to characters a Message-ID's left part may hold.
fn atom(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls() {
        let e = |u: &str| SmtpEndpoint::parse(u).map(|e| (e.host, e.port, e.security));
        assert_eq!(
            e("smtp://127.0.0.1:2525"),
            Ok(("127.0.0.1".into(), 2525, Security::Plain))
        );
        assert_eq!(
            e("smtp://mail.example.com?tls=starttls"),
            Ok(("mail.example.com".into(), 25, Security::StartTls))
        );
        assert_eq!(
            e("smtps://mail.example.com"),
            Ok(("mail.example.com".into(), 465, Security::Wrapper))
        );
        for bad in [
            "mail.example.com",
            "http://mail.example.com",
            "smtp://",
            "smtp://u:p@mail.example.com",
            "smtp://mail.example.com/x",
            "smtp://mail.example.com?tls=opportunistic",
            "smtps://mail.example.com?tls=starttls",
        ] {
            assert!(SmtpEndpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn header_values_stay_plain() {
        assert!(is_token("request.created"));
        assert!(!is_token("a\r\nBcc: x"));
        assert_eq!(atom("p 1/x"), "p_1_x");
    }
}
