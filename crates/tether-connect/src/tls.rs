//! TLS for PostgreSQL and MariaDB/MySQL connections (rustls with ring): the modes and
//! files of each ecosystem's URL options, the rustls client configuration they mean,
//! and messages that say whether the certificate, the host name or the server's
//! support for TLS failed.
//!
//! Modes, as libpq and the mysql client define them: `disable`/`DISABLED` (plain),
//! `prefer`/`PREFERRED` (TLS when the server offers it, else plain; the certificate is
//! not checked), `require`/`REQUIRED` (TLS or nothing; not checked), `verify-ca`/
//! `VERIFY_CA` (signed by a trusted CA) and `verify-full`/`VERIFY_IDENTITY` (signed by a
//! trusted CA and valid for the host name).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use tether_schema::Engine;

/// How a connection uses TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    Disable,
    /// The default, as in libpq and the mysql client.
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl TlsMode {
    /// Reads `sslmode` (PostgreSQL; `allow` is taken as `prefer`) or `ssl-mode`
    /// (MariaDB/MySQL, any case).
    pub fn parse(engine: Engine, value: &str) -> Option<TlsMode> {
        let mode = match engine {
            Engine::Postgres => match value {
                "disable" => TlsMode::Disable,
                "allow" | "prefer" => TlsMode::Prefer,
                "require" => TlsMode::Require,
                "verify-ca" => TlsMode::VerifyCa,
                "verify-full" => TlsMode::VerifyFull,
                _ => return None,
            },
            _ => match value.to_ascii_uppercase().as_str() {
                "DISABLED" => TlsMode::Disable,
                "PREFERRED" => TlsMode::Prefer,
                "REQUIRED" => TlsMode::Require,
                "VERIFY_CA" => TlsMode::VerifyCa,
                "VERIFY_IDENTITY" => TlsMode::VerifyFull,
                _ => return None,
            },
        };
        Some(mode)
    }

    /// The mode as the engine's option spells it, e.g. `sslmode=verify-full`.
    pub fn option(self, engine: Engine) -> String {
        let value = match (engine, self) {
            (Engine::Postgres, TlsMode::Disable) => "disable",
            (Engine::Postgres, TlsMode::Prefer) => "prefer",
            (Engine::Postgres, TlsMode::Require) => "require",
            (Engine::Postgres, TlsMode::VerifyCa) => "verify-ca",
            (Engine::Postgres, TlsMode::VerifyFull) => "verify-full",
            (_, TlsMode::Disable) => "DISABLED",
            (_, TlsMode::Prefer) => "PREFERRED",
            (_, TlsMode::Require) => "REQUIRED",
            (_, TlsMode::VerifyCa) => "VERIFY_CA",
            (_, TlsMode::VerifyFull) => "VERIFY_IDENTITY",
        };
        format!("{}={value}", Key::Mode.name(engine))
    }

    /// The server's certificate is checked against trusted CAs.
    pub fn verifies(self) -> bool {
        matches!(self, TlsMode::VerifyCa | TlsMode::VerifyFull)
    }

    /// TLS or nothing: `require` and the checking modes.
    pub fn at_least_require(self) -> bool {
        matches!(self, TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull)
    }
}

/// The URL options of TLS, named per engine in messages.
#[derive(Debug, Clone, Copy)]
pub enum Key {
    Mode,
    RootCert,
    Cert,
    PrivateKey,
}

impl Key {
    pub fn name(self, engine: Engine) -> &'static str {
        match (engine, self) {
            (Engine::Postgres, Key::Mode) => "sslmode",
            (Engine::Postgres, Key::RootCert) => "sslrootcert",
            (Engine::Postgres, Key::Cert) => "sslcert",
            (Engine::Postgres, Key::PrivateKey) => "sslkey",
            (_, Key::Mode) => "ssl-mode",
            (_, Key::RootCert) => "ssl-ca",
            (_, Key::Cert) => "ssl-cert",
            (_, Key::PrivateKey) => "ssl-key",
        }
    }
}

/// TLS settings of one server URL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsOptions {
    pub mode: TlsMode,
    /// The CA certificates (PEM) the server's certificate must chain to; `system`
    /// means the Mozilla root bundle (webpki-roots).
    pub root_cert: Option<PathBuf>,
    /// A client certificate (PEM chain) and its private key (PEM, unencrypted).
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// `root_cert` is libpq's default file, `~/.postgresql/root.crt` (not written).
    pub default_root_cert: bool,
    /// `mode` is `verify-ca` / `VERIFY_CA` because a root certificate file is there,
    /// and this is the mode the URL said: PostgreSQL's `require` (libpq's rule), or
    /// MariaDB's `REQUIRED` / `PREFERRED` with `ssl-ca` (the mariadb client checks the
    /// CA whenever `--ssl-ca` is given). `Some(VerifyCa)`: MariaDB, no `ssl-mode`
    /// written, `ssl-ca` given (the mysql client's rule: `--ssl-ca` alone is VERIFY_CA).
    pub verify_ca_from: Option<TlsMode>,
}

impl TlsOptions {
    /// The trusted CAs as messages name them.
    pub fn roots_shown(&self, engine: Engine) -> String {
        match &self.root_cert {
            Some(p) if p.as_os_str() == "system" => "the public (Mozilla) root CAs of sslrootcert=system".into(),
            Some(p) if self.default_root_cert => format!("~/.postgresql/root.crt ({})", p.display()),
            Some(p) => format!("{} {}", Key::RootCert.name(engine), p.display()),
            None if engine == Engine::Postgres => "~/.postgresql/root.crt".into(),
            None => format!(
                "the public (Mozilla) root CAs (no {} given)",
                Key::RootCert.name(engine)
            ),
        }
    }

    /// The mode as the user wrote it, e.g. `sslmode=require (verify-ca, as sslrootcert
    /// /ca.pem is given)`.
    pub fn mode_shown(&self, engine: Engine) -> String {
        let why = if self.default_root_cert { "exists" } else { "is given" };
        match self.verify_ca_from {
            Some(TlsMode::VerifyCa) => format!(
                "{} (as {} {why})",
                TlsMode::VerifyCa.option(engine),
                self.roots_shown(engine)
            ),
            Some(from) => format!(
                "{} ({}, as {} {why})",
                from.option(engine),
                TlsMode::VerifyCa.option(engine),
                self.roots_shown(engine)
            ),
            None => self.mode.option(engine),
        }
    }
}

/// The refusal of VERIFY_CA with the public root CAs: they sign certificates for any
/// host, so a check of the chain alone accepts anyone's certificate.
pub fn public_roots_without_host_check(engine: Engine) -> String {
    match engine {
        Engine::Postgres => "sslmode=verify-ca with sslrootcert=system would accept a certificate any public CA \
                             issued for any host: use sslmode=verify-full"
            .into(),
        _ => format!(
            "{} without {} would accept a certificate any public CA issued for any host (the public root CAs \
             are used, and the host name is not checked): give {}=PATH (the CA that signed the server's \
             certificate), or use {} to check the host name",
            TlsMode::VerifyCa.option(engine),
            Key::RootCert.name(engine),
            Key::RootCert.name(engine),
            TlsMode::VerifyFull.option(engine)
        ),
    }
}

/// The crypto provider every TLS connection of Tether uses.
pub fn provider() -> Arc<CryptoProvider> {
    // ring, as DESIGN.md asks (no aws-lc, no cmake); rustls deprecates it only for
    // lacking post-quantum key exchange.
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls configuration for `opts`: the checks of its mode and its client
/// certificate. Errors name the option and the file (never a key's content).
pub fn client_config(opts: &TlsOptions, engine: Engine) -> Result<ClientConfig, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?;
    let verifier: Arc<dyn ServerCertVerifier> = if opts.mode.verifies() {
        let roots = Arc::new(root_store(opts, engine)?);
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| format!("TLS set-up failed: {e}"))?;
        if opts.mode == TlsMode::VerifyFull {
            Arc::new(VersionThree(webpki))
        } else {
            Arc::new(VersionThree(Arc::new(AnyHostName(webpki))))
        }
    } else {
        Arc::new(Unchecked(provider.signature_verification_algorithms))
    };
    let builder = builder.dangerous().with_custom_certificate_verifier(verifier);
    let config = match client_identity(opts, engine)? {
        Some((certs, key)) => {
            let certified = certified_key(certs, key, "client certificate")
                .map_err(|e| format!("{} / {}: {e}", Key::Cert.name(engine), Key::PrivateKey.name(engine)))?;
            builder.with_client_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)))
        }
        None => builder.with_no_client_auth(),
    };
    Ok(config)
}

/// A certificate chain and its private key as rustls presents them (`what`: "client
/// certificate", "certificate"), the key checked to be the first certificate's here:
/// rustls's own check reads the certificate with webpki, which refuses X.509 version 1
/// certificates (TLS peers take them). Errors say what is wrong, never the key.
pub fn certified_key(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    what: &str,
) -> Result<rustls::sign::CertifiedKey, String> {
    let signing = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("the private key cannot be used for TLS: {e}"))?;
    let cert_key = certs
        .first()
        .and_then(|c| public_key_info(c))
        .ok_or_else(|| format!("the {what} is not a readable X.509 certificate"))?;
    if signing.public_key().is_some_and(|k| k.as_ref() != cert_key.whole) {
        return Err(format!(
            "the {what} and key do not go together (the key is not the certificate's)"
        ));
    }
    Ok(rustls::sign::CertifiedKey::new(certs, signing))
}

/// The client certificate chain and key, read from their files; both or neither.
pub fn client_identity(
    opts: &TlsOptions,
    engine: Engine,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, String> {
    let defaults = match (engine, &opts.cert, &opts.key) {
        (Engine::Postgres, None, None) => libpq_default_identity(),
        _ => None,
    };
    let (cert, key) = match (&opts.cert, &opts.key) {
        (None, None) => match &defaults {
            Some((cert, key)) => (cert, key),
            None => return Ok(None),
        },
        (Some(cert), Some(key)) => (cert, key),
        (Some(_), None) | (None, Some(_)) => {
            return Err(format!(
                "a client certificate needs both {} and {}",
                Key::Cert.name(engine),
                Key::PrivateKey.name(engine)
            ))
        }
    };
    let certs = read_certs(cert, Key::Cert, engine)?;
    // PKCS#8 `ENCRYPTED PRIVATE KEY`, or a PKCS#1 / SEC1 key with `Proc-Type: 4,ENCRYPTED`.
    let text = std::fs::read(key).unwrap_or_default();
    if String::from_utf8_lossy(&text).contains("ENCRYPTED") {
        return Err(format!(
            "{} {}: the key is encrypted (protected by a passphrase), which is not supported: decrypt it \
             first (`openssl pkey -in KEY -out PLAIN_KEY`)",
            Key::PrivateKey.name(engine),
            key.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        format!(
            "{} {}: no usable private key ({}; an encrypted key must be decrypted first)",
            Key::PrivateKey.name(engine),
            key.display(),
            pem_error(&e)
        )
    })?;
    Ok(Some((certs, key)))
}

/// libpq's default client certificate, `~/.postgresql/postgresql.crt` and `.key`, when
/// both files are there.
fn libpq_default_identity() -> Option<(PathBuf, PathBuf)> {
    let dir = PathBuf::from(std::env::var_os("HOME")?).join(".postgresql");
    let (cert, key) = (dir.join("postgresql.crt"), dir.join("postgresql.key"));
    (cert.is_file() && key.is_file()).then_some((cert, key))
}

/// A PEM error without the file's content.
fn pem_error(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::Io(io) => io.to_string(),
        Error::NoItemsFound => "no PEM item found".into(),
        Error::MissingSectionEnd { .. } | Error::IllegalSectionStart { .. } => "malformed PEM".into(),
        Error::Base64Decode(_) => "malformed base64 in PEM".into(),
        _ => "unreadable PEM".into(),
    }
}

fn read_certs(path: &Path, key: Key, engine: Engine) -> Result<Vec<CertificateDer<'static>>, String> {
    let shown = || format!("{} {}", key.name(engine), path.display());
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {}", shown(), pem_error(&e)))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in the file", shown()));
    }
    Ok(certs)
}

/// The trusted CAs: the root certificate option, else libpq's `~/.postgresql/root.crt`
/// (PostgreSQL) or the Mozilla root bundle (MariaDB/MySQL, as its client uses the
/// system's CAs).
fn root_store(opts: &TlsOptions, engine: Engine) -> Result<RootCertStore, String> {
    let public = match &opts.root_cert {
        Some(p) => p.as_os_str() == "system",
        None => engine != Engine::Postgres,
    };
    if public && opts.mode == TlsMode::VerifyCa {
        return Err(public_roots_without_host_check(engine));
    }
    let mut store = RootCertStore::empty();
    let path = match &opts.root_cert {
        Some(p) => Some(p.clone()),
        None if engine == Engine::Postgres => {
            let default = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".postgresql/root.crt"));
            match default.filter(|p| p.is_file()) {
                Some(p) => Some(p),
                None => {
                    return Err(format!(
                        "{} checks the server's certificate, which needs the CA certificate: give {}=PATH \
                         (or PGSSLROOTCERT, or ~/.postgresql/root.crt; `system` for public CAs, with verify-full)",
                        opts.mode.option(engine),
                        Key::RootCert.name(engine)
                    ))
                }
            }
        }
        None => None,
    };
    match path {
        Some(p) if p.as_os_str() != "system" => {
            for cert in read_certs(&p, Key::RootCert, engine)? {
                store.add(cert).map_err(|e| {
                    format!(
                        "{} {}: not a usable CA certificate: {e}",
                        Key::RootCert.name(engine),
                        p.display()
                    )
                })?;
            }
        }
        _ => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(store)
}

/// `prefer` and `require`: any certificate (libpq and the mysql client do not check
/// one in these modes); the handshake's signatures are still verified, with the
/// certificate's key read here when webpki refuses the certificate's form (an X.509
/// version 1 certificate, as `openssl req -x509` without extensions and old
/// `mysql_ssl_rsa_setup` make them).
#[derive(Debug)]
struct Unchecked(WebPkiSupportedAlgorithms);

impl Unchecked {
    /// The certificate's key when webpki cannot read the certificate itself.
    fn old_form<'a>(cert: &'a CertificateDer<'_>) -> Option<PublicKeyInfo<'a>> {
        x509_version(cert).filter(|&v| v < 3)?;
        public_key_info(cert)
    }
}

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let Some(key) = Self::old_form(cert) else {
            return rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0);
        };
        // As rustls does for TLS 1.2: every algorithm of the scheme whose key type is
        // the certificate's.
        let algorithms = self
            .0
            .mapping
            .iter()
            .find(|(scheme, _)| *scheme == dss.scheme)
            .map(|(_, algorithms)| *algorithms)
            .ok_or(rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme)?;
        let algorithm = algorithms
            .iter()
            .find(|a| a.public_key_alg_id().as_ref() == key.algorithm)
            .ok_or_else(|| {
                rustls::Error::InvalidCertificate(CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext {
                    signature_algorithm_id: algorithms
                        .first()
                        .map(|a| a.signature_alg_id().as_ref().to_vec())
                        .unwrap_or_default(),
                    public_key_algorithm_id: key.algorithm.to_vec(),
                })
            })?;
        algorithm
            .verify_signature(key.key, message, dss.signature())
            .map(|_| HandshakeSignatureValid::assertion())
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadSignature))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        match Self::old_form(cert) {
            Some(key) => rustls::crypto::verify_tls13_signature_with_raw_key(
                message,
                &SubjectPublicKeyInfoDer::from(key.whole),
                dss,
                &self.0,
            ),
            None => rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0),
        }
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// A server certificate older than X.509 version 3, refused by a checking mode:
/// webpki checks only version 3 certificates (the CA's constraints and the names a
/// certificate is valid for are extensions, which older versions lack).
#[derive(Debug, thiserror::Error)]
#[error("the certificate is X.509 version {0}")]
pub struct OldVersion(pub u8);

/// The checking modes: a certificate older than version 3 is refused with its version
/// (webpki's own error does not say which).
#[derive(Debug)]
struct VersionThree(Arc<dyn ServerCertVerifier>);

impl ServerCertVerifier for VersionThree {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(v) = x509_version(end_entity).filter(|&v| v < 3) {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(Arc::new(OldVersion(v))),
            )));
        }
        self.0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

const SEQUENCE: u8 = 0x30;

/// One DER element.
struct Der<'a> {
    tag: u8,
    content: &'a [u8],
    /// The element itself, header and content.
    whole: &'a [u8],
    /// What follows it.
    rest: &'a [u8],
}

/// The DER element at the start of `input`.
fn der_element(input: &[u8]) -> Option<Der<'_>> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x84 => {
            let n = usize::from(first - 0x80);
            if rest.len() < n {
                return None;
            }
            let len = rest[..n].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, &rest[n..])
        }
        _ => return None,
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    Some(Der {
        tag,
        content: &rest[..len],
        whole: &input[..header + len],
        rest: &rest[len..],
    })
}

/// The DER element at the start of `input`, when its tag is `tag`.
fn der_tagged(input: &[u8], tag: u8) -> Option<Der<'_>> {
    der_element(input).filter(|e| e.tag == tag)
}

/// The fields of a certificate's tbsCertificate, after its optional version.
fn tbs_fields(cert: &[u8]) -> Option<(Option<&[u8]>, &[u8])> {
    let certificate = der_tagged(cert, SEQUENCE)?;
    let tbs = der_tagged(certificate.content, SEQUENCE)?;
    let first = der_element(tbs.content)?;
    // `[0] EXPLICIT Version DEFAULT v1`
    Some(if first.tag == 0xa0 {
        (Some(first.content), first.rest)
    } else {
        (None, tbs.content)
    })
}

/// The X.509 version of the first certificate in a PEM file.
pub fn file_x509_version(path: &Path) -> Option<u8> {
    let cert = CertificateDer::pem_file_iter(path).ok()?.next()?.ok()?;
    x509_version(&cert)
}

/// A certificate's X.509 version (1, 2 or 3), read from its DER.
pub fn x509_version(cert: &[u8]) -> Option<u8> {
    match tbs_fields(cert)? {
        (None, _) => Some(1),
        (Some(version), _) => {
            let value = der_element(version)?;
            match (value.tag, value.content) {
                (0x02, [v]) if *v < 3 => Some(v + 1),
                _ => None,
            }
        }
    }
}

/// A certificate's subjectPublicKeyInfo.
struct PublicKeyInfo<'a> {
    /// The whole element (DER), as rustls's raw public keys take it.
    whole: &'a [u8],
    /// The content of its AlgorithmIdentifier, as webpki's algorithms name theirs.
    algorithm: &'a [u8],
    /// The key (the BIT STRING's bits).
    key: &'a [u8],
}

/// The subjectPublicKeyInfo of a certificate of any X.509 version: after the serial
/// number, signature algorithm, issuer, validity and subject.
fn public_key_info(cert: &[u8]) -> Option<PublicKeyInfo<'_>> {
    let (_, mut fields) = tbs_fields(cert)?;
    for _ in 0..5 {
        fields = der_element(fields)?.rest;
    }
    let spki = der_tagged(fields, SEQUENCE)?;
    let algorithm = der_tagged(spki.content, SEQUENCE)?;
    let bits = der_tagged(algorithm.rest, 0x03)?;
    // A BIT STRING whose first byte counts the unused bits: none in a key.
    match bits.content.split_first() {
        Some((0, key)) => Some(PublicKeyInfo {
            whole: spki.whole,
            algorithm: algorithm.content,
            key,
        }),
        _ => None,
    }
}

/// `verify-ca`: the full check, except that the certificate may name any host
/// (webpki checks the chain before the name, so a name error means the chain is good).
#[derive(Debug)]
struct AnyHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The rustls error somewhere in `err`'s chain (also inside an `io::Error`).
pub fn find_rustls_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(r) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(r);
        }
        current = e.source();
    }
    None
}

/// Says which check a failed TLS handshake with `host` failed: the certificate, the
/// host name, or the server's acceptance of ours.
pub fn explain(err: &rustls::Error, opts: &TlsOptions, engine: Engine, host: &str) -> String {
    let root = opts.roots_shown(engine);
    match err {
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => {
            let presented = match err {
                rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { presented, .. }) => {
                    Some(presented)
                }
                _ => None,
            };
            let names = match presented {
                // webpki reads host names from subjectAltName only.
                Some(p) if p.is_empty() => {
                    let kind = if host.parse::<std::net::IpAddr>().is_ok() {
                        "IP"
                    } else {
                        "DNS"
                    };
                    format!(
                        ": it has no subjectAltName, and a host name only in its subject's CN is not accepted \
                         (give the certificate subjectAltName={kind}:{host})"
                    )
                }
                Some(p) => format!(" (it names {})", p.join(", ")),
                None => String::new(),
            };
            // VERIFY_CA (MariaDB) ends here only for a certificate without names.
            let advice = if opts.mode == TlsMode::VerifyFull && presented.is_none_or(|p| !p.is_empty()) {
                format!(
                    "; {} checks the host name, {} does not",
                    opts.mode_shown(engine),
                    TlsMode::VerifyCa.option(engine)
                )
            } else if opts.mode == TlsMode::VerifyCa {
                format!(
                    "; with {} Tether checks the chain, then connects expecting a name the certificate holds, \
                     and this one holds none",
                    opts.mode_shown(engine)
                )
            } else {
                String::new()
            };
            format!("TLS host name check failed: the server's certificate is not valid for `{host}`{names}{advice}")
        }
        rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature | CertificateError::BadEncoding,
        ) => format!("TLS certificate check failed: the server's certificate is not signed by a CA in {root} ({err})"),
        // Tether's own verifiers name the version ([`OldVersion`]); mysql_async's (in
        // every mode) leave webpki's refusal, which does not.
        rustls::Error::InvalidCertificate(CertificateError::Other(other))
            if other.0.downcast_ref::<OldVersion>().is_some() || other.0.to_string() == "UnsupportedCertVersion" =>
        {
            let version = match other.0.downcast_ref::<OldVersion>() {
                Some(v) => format!("X.509 version {}", v.0),
                None => "older than X.509 version 3".into(),
            };
            let reissue = "re-issue the server's certificate as version 3 (with subjectAltName)";
            if !opts.mode.verifies() {
                // Only mysql_async's verifier reads the certificate without a check asked.
                format!(
                    "TLS certificate check failed: the server's certificate is {version}, which the MariaDB/MySQL \
                     driver cannot read, even with {} (no check): {reissue}, or connect with {}",
                    opts.mode_shown(engine),
                    TlsMode::Disable.option(engine)
                )
            } else {
                let or_unchecked = match engine {
                    Engine::Postgres => format!(
                        ", or use {} (encrypted, the certificate not checked)",
                        TlsMode::Require.option(engine)
                    ),
                    _ => String::new(),
                };
                format!(
                    "TLS certificate check failed: the server's certificate is {version}, and {} checks only \
                     version 3 certificates (the CA constraints and host names it checks are version 3 \
                     extensions): {reissue}{or_unchecked}",
                    opts.mode_shown(engine)
                )
            }
        }
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => {
            format!(
                "TLS certificate check failed: the server's certificate is refused: {}",
                other.0
            )
        }
        rustls::Error::InvalidCertificate(_) => format!("TLS certificate check failed: {err}"),
        rustls::Error::AlertReceived(alert) => format!(
            "TLS handshake refused by the server ({alert:?}): if it requires a client certificate, give one \
             it trusts with {} and {}",
            Key::Cert.name(engine),
            Key::PrivateKey.name(engine)
        ),
        other => format!("TLS handshake failed: {other}"),
    }
}

/// The message for a server that answered the TLS request with "no".
pub fn not_supported(opts: &TlsOptions, engine: Engine) -> String {
    format!(
        "TLS not supported by the server: it accepts plain connections only, and {} does not fall back \
         to plain ({} would)",
        opts.mode_shown(engine),
        TlsMode::Prefer.option(engine)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_both_spellings() {
        assert_eq!(
            TlsMode::parse(Engine::Postgres, "verify-full"),
            Some(TlsMode::VerifyFull)
        );
        assert_eq!(TlsMode::parse(Engine::Postgres, "allow"), Some(TlsMode::Prefer));
        assert_eq!(TlsMode::parse(Engine::Postgres, "VERIFY_CA"), None);
        assert_eq!(
            TlsMode::parse(Engine::Mysql, "verify_identity"),
            Some(TlsMode::VerifyFull)
        );
        assert_eq!(TlsMode::parse(Engine::Mysql, "REQUIRED"), Some(TlsMode::Require));
        assert_eq!(TlsMode::VerifyCa.option(Engine::Mysql), "ssl-mode=VERIFY_CA");
        assert_eq!(TlsMode::Prefer.option(Engine::Postgres), "sslmode=prefer");
    }

    #[test]
    fn missing_files_are_named_by_option() {
        let opts = TlsOptions {
            mode: TlsMode::VerifyFull,
            root_cert: Some("/nonexistent/ca.pem".into()),
            ..TlsOptions::default()
        };
        let e = client_config(&opts, Engine::Postgres).unwrap_err();
        assert!(e.starts_with("sslrootcert /nonexistent/ca.pem: "), "{e}");
        let opts = TlsOptions {
            cert: Some("/nonexistent/client.pem".into()),
            ..TlsOptions::default()
        };
        let e = client_config(&opts, Engine::Mysql).unwrap_err();
        assert_eq!(e, "a client certificate needs both ssl-cert and ssl-key");
    }

    /// The DER walk reads the version and the key of a version 1 certificate (which
    /// webpki refuses) and of rcgen's version 3 ones: the key is the one its private
    /// key's provider reads.
    #[test]
    fn versions_and_keys_are_read_from_certificates_of_any_version() {
        let (v1, key) = tether_testkit::tls::self_signed_v1("db.example");
        let v1 = CertificateDer::from_pem_slice(v1.as_bytes()).expect("PEM");
        assert_eq!(x509_version(&v1), Some(1));
        let signing = provider()
            .key_provider
            .load_private_key(PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("PEM"))
            .expect("a key");
        let info = public_key_info(&v1).expect("its key");
        assert_eq!(signing.public_key().expect("an SPKI").as_ref(), info.whole);
        assert!(
            rustls::server::ParsedCertificate::try_from(&v1).is_err(),
            "webpki reads v1 now"
        );
        let c = tether_testkit::tls::certs();
        let v3 = CertificateDer::pem_file_iter(&c.server_cert)
            .expect("the file")
            .next()
            .expect("a certificate")
            .expect("PEM");
        assert_eq!(x509_version(&v3), Some(3));
        let parsed = rustls::server::ParsedCertificate::try_from(&v3).expect("webpki reads v3");
        assert_eq!(
            parsed.subject_public_key_info().as_ref(),
            public_key_info(&v3).expect("its key").whole
        );
        assert_eq!(x509_version(b"\x30\x03\x02\x01\x00"), None);
        assert!(public_key_info(&v3[..v3.len() / 2]).is_none());
    }

    #[test]
    fn system_roots_are_the_mozilla_bundle() {
        let opts = TlsOptions {
            mode: TlsMode::VerifyFull,
            root_cert: Some("system".into()),
            ..TlsOptions::default()
        };
        let roots = root_store(&opts, Engine::Postgres).expect("the bundle loads");
        assert_eq!(roots.len(), webpki_roots::TLS_SERVER_ROOTS.len());
        assert!(client_config(&opts, Engine::Postgres).is_ok());
    }
}
