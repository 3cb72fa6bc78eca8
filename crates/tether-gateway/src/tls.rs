//! TLS towards clients: the rustls server configuration made from the config's
//! `tls` section (certificate chain and key, PEM files).

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsConfig;
use crate::protocol::Security;

/// What the protocol needs to offer TLS; errors name the config key and file.
pub fn security(config: Option<&TlsConfig>) -> Result<Security, String> {
    let Some(config) = config else {
        return Ok(Security::default());
    };
    let certs = CertificateDer::pem_file_iter(&config.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("tls.cert {}: {e}", config.cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "tls.cert {}: no certificate in the file",
            config.cert.display()
        ));
    }
    // The key's own error could quote it: say only what is wrong with the file.
    let key = PrivateKeyDer::from_pem_file(&config.key).map_err(|e| {
        let why = match e {
            rustls::pki_types::pem::Error::Io(io) => io.to_string(),
            _ => "no unencrypted private key (PEM) in the file".into(),
        };
        format!("tls.key {}: {why}", config.key.display())
    })?;
    let server = rustls::ServerConfig::builder_with_provider(tether_connect::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        // A version 1 certificate too (rustls's `with_single_cert` refuses it).
        .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(
            tether_connect::tls::certified_key(certs, key, "certificate")
                .map_err(|e| format!("tls.cert / tls.key: {e}"))?,
        )));
    Ok(Security {
        acceptor: Some(TlsAcceptor::from(Arc::new(server))),
        require_secure_transport: config.require_secure_transport,
    })
}
