//! Twenty-fourth session (review r23m F1, F2 on the gateway's side): an X.509 version 1
//! certificate (as `openssl req -x509` without extensions makes them) as the gateway's
//! own `tls.cert`. rustls's `with_single_cert` reads it with webpki, which refuses
//! version 1: the gateway would not start ("the certificate and key do not go together:
//! ... Other(OtherError(UnsupportedCertVersion))").

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{start_with, PASSWORD, USER};

fn bind(cert: &std::path::Path, key: &std::path::Path) -> String {
    let json = format!(
        r#"{{"tls": {{"cert": "{}", "key": "{}"}}, "listen": "127.0.0.1:0",
            "users": [{{"user": "{USER}", "password": "{PASSWORD}"}}],
            "keyspaces": {{"ks": {{"backend": {{"url": "mysql://root@127.0.0.1:1/ks"}}}}}}}}"#,
        cert.display(),
        key.display()
    );
    let config = tether_gateway::Config::parse(&json).expect("valid JSON config");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match rt.block_on(tether_gateway::Gateway::bind(&config, None)) {
        Ok(_) => "bound".to_string(),
        Err(e) => e.to_string(),
    }
}

/// The gateway starts with a version 1 certificate and presents it: a client that
/// checks nothing (Tether's own `REQUIRED`) completes the TLS handshake after the
/// SSLRequest and receives exactly that certificate. A key that is not the
/// certificate's is still refused, without a rustls debug text.
#[test]
fn a_version_1_certificate_serves_clients() {
    let v1 = tether_testkit::tls::v1_certs();
    assert_eq!(bind(&v1.server_cert, &v1.server_key), "bound");
    assert_eq!(
        bind(&v1.server_cert, &v1.client_key),
        "tls.cert / tls.key: the certificate and key do not go together (the key is not the certificate's)"
    );
    let backend = std::env::var("TETHER_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let extra = format!(
        r#""tls": {{"cert": "{}", "key": "{}"}},"#,
        v1.server_cert.display(),
        v1.server_key.display()
    );
    let gw = start_with(&[("ks", "unmanaged", &backend)], &extra);
    let opts = tether_connect::TlsOptions {
        mode: tether_connect::TlsMode::Require,
        ..Default::default()
    };
    let config = tether_connect::tls::client_config(&opts, tether_connect::Engine::Mysql).expect("a configuration");
    let presented = tether_testkit::block_on(async {
        let mut tcp = tokio::net::TcpStream::connect(gw.addr).await.expect("TCP");
        let mut header = [0u8; 4];
        tcp.read_exact(&mut header).await.expect("greeting header");
        let len = usize::from(header[0]) | (usize::from(header[1]) << 8) | (usize::from(header[2]) << 16);
        let mut greeting = vec![0u8; len];
        tcp.read_exact(&mut greeting).await.expect("greeting");
        // SSLRequest: CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION
        let caps: u32 = 0x0200 | 0x0800 | 0x8000;
        let mut packet = vec![32, 0, 0, 1];
        packet.extend_from_slice(&caps.to_le_bytes());
        packet.extend_from_slice(&(16u32 << 20).to_le_bytes());
        packet.push(45);
        packet.extend_from_slice(&[0u8; 23]);
        tcp.write_all(&packet).await.expect("SSLRequest");
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("a name");
        let tls = connector.connect(name, tcp).await.expect("the TLS handshake");
        let (_, session) = tls.get_ref();
        session
            .peer_certificates()
            .map(|c| c.iter().map(|c| c.to_vec()).collect::<Vec<_>>())
    });
    let pem = std::fs::read_to_string(&v1.server_cert).expect("the certificate");
    let der: Vec<u8> = {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
            .expect("PEM")
            .to_vec()
    };
    assert_eq!(presented, Some(vec![der]));
}
