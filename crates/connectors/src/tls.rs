//! The rustls client configuration the connectors share (LDAP, webhooks):
//! ring as the crypto provider, so no OpenSSL; roots from a PEM file (a
//! private CA) or else the system's.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::sync::Arc;

/// A client configuration trusting the certificates in `ca_pem`, or the
/// system's roots when None.
pub fn client_config(ca_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            let certs = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("it is not PEM: {e}"))?;
            if certs.is_empty() {
                return Err("it holds no PEM certificate".into());
            }
            for cert in certs {
                roots.add(cert).map_err(|e| e.to_string())?;
            }
        }
        None => {
            // Unreadable system certificates are skipped, as every TLS
            // client does; with none at all, each connection fails with an
            // error that says the certificate is unknown.
            let found = rustls_native_certs::load_native_certs();
            let _ = roots.add_parsable_certificates(found.certs);
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}
