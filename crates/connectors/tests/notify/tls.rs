//! TLS to SMTP and HTTPS receivers: a server is trusted only through the
//! configured CA, so a notification never goes to an impostor.

use super::*;

on_both_backends!(tls_to_smtp_and_https_receivers_is_checked_against_the_configured_ca,);

/// An HTTPS receiver with a certificate for 127.0.0.1 from `dir`'s CA: it
/// reads one request per connection by hand and answers 200.
async fn https_receiver(dir: &std::path::Path) -> (u16, Arc<Mutex<Vec<Vec<u8>>>>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let chain = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let keep = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            // A client that refuses our certificate ends its handshake here.
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                continue;
            };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            let complete = |r: &[u8]| {
                let text = String::from_utf8_lossy(r);
                let Some((head, body)) = text.split_once("\r\n\r\n") else {
                    return false;
                };
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0);
                body.len() >= length
            };
            while !complete(&request) {
                match tls.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            keep.lock().unwrap().push(request);
            let _ = tls
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
            let _ = tls.shutdown().await;
        }
    });
    (port, got)
}

async fn tls_to_smtp_and_https_receivers_is_checked_against_the_configured_ca(env: Env) {
    use soxctl_testkit::SinkTls;
    env.add_people(&[("p1001", Some("ada@example.com"))]).await;
    let payload = json!({"notify": {"subject": "Over TLS", "text": "Sealed in transit.", "recipients": ["p1001"]}});
    for mode in [SinkTls::StartTls, SinkTls::Implicit] {
        let sink = soxctl_testkit::smtp_sink_with_tls(mode).unwrap_or_else(|e| panic!("{e}"));
        let ca = sink.ca_file().unwrap();
        // The system's roots do not know the throw-away CA: refused.
        let untrusting = env
            .notifier(&format!(
                "[smtp]\nurl = \"{}\"\nfrom = \"soxctl@example.com\"\n",
                sink.url()
            ))
            .await;
        let id = env.enqueue("request.created", payload.clone()).await;
        let report = env.pass(&untrusting).await;
        assert_eq!(report.failed, 1, "{mode:?}");
        let error = env.record(id).await.last_error.unwrap();
        assert!(
            error.contains("smtp:p1001") && error.to_lowercase().contains("certificate"),
            "{mode:?}: {error}"
        );
        assert!(sink.mails().is_empty());

        // With the CA: delivered, over TLS.
        let trusting = env
            .notifier(&format!(
                "[smtp]\nurl = \"{}\"\nfrom = \"soxctl@example.com\"\nca_file = {:?}\n",
                sink.url(),
                ca.display().to_string()
            ))
            .await;
        env.clock.advance(chrono::Duration::seconds(2));
        let report = env.pass(&trusting).await;
        assert_eq!(
            (report.delivered, report.failed),
            (1, 0),
            "{mode:?}: {:?}",
            env.record(id).await.last_error
        );
        let mails = sink.wait_for(1, Duration::from_secs(10)).unwrap();
        assert_eq!(mails[0].header("Subject").unwrap(), "Over TLS");
        assert!(mails[0].body().contains("Sealed in transit."));
    }

    let certs = tempfile::tempdir().unwrap();
    soxctl_testkit::make_certificates(certs.path()).unwrap();
    let (port, got) = https_receiver(certs.path()).await;
    let hook = |ca: Option<&std::path::Path>| {
        let ca = ca
            .map(|p| format!("ca_file = {:?}\n", p.display().to_string()))
            .unwrap_or_default();
        format!(
            "[[webhook]]\nname = \"siem\"\nurl = \"https://127.0.0.1:{port}/hook\"\nformat = \"generic\"\nsecret_env = \"SECRET\"\n{ca}"
        )
    };
    let id = env
        .enqueue("finding.opened", json!({"finding_id": "f1"}))
        .await;
    let report = env.pass(&env.notifier(&hook(None)).await).await;
    assert_eq!(report.failed, 1);
    let error = env.record(id).await.last_error.unwrap();
    assert!(
        error.contains("TLS with https://127.0.0.1:")
            && error.to_lowercase().contains("certificate"),
        "{error}"
    );
    env.clock.advance(chrono::Duration::seconds(2));
    let report = env
        .pass(
            &env.notifier(&hook(Some(&certs.path().join("ca.pem"))))
                .await,
        )
        .await;
    assert_eq!(report.delivered, 1, "{:?}", env.record(id).await.last_error);
    let got = got.lock().unwrap();
    let request = String::from_utf8_lossy(got.last().unwrap()).into_owned();
    assert!(request.starts_with("POST /hook HTTP/1.1\r\n"), "{request}");
    assert!(request.contains("\"finding_id\":\"f1\""), "{request}");
}
