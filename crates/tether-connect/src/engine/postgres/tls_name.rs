//! The name a PostgreSQL TLS handshake is made with. rustls takes only a DNS name or
//! an IP address in canonical form, so a host libpq reaches (`127.1`, `2130706433`,
//! both the resolver's spellings of 127.0.0.1) failed with "invalid dns name" under
//! `sslmode=prefer` (review r18 C, F3). Where the mode checks no host name (all but
//! `verify-full`), such a host is handshaken without SNI under a name no check reads.

use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The name given to rustls for a host that is not a valid TLS name: sent nowhere
/// (SNI off), read by no check (the modes using it check no host name).
const UNCHECKED_NAME: &str = "localhost";

/// [`MakeRustlsConnect`], with a fallback for hosts rustls cannot take as a name.
pub struct Connector {
    named: MakeRustlsConnect,
    /// `None` under `verify-full`: its host name check needs the host's own name.
    unnamed: Option<MakeRustlsConnect>,
}

impl Connector {
    /// `checks_host`: the mode compares the certificate with the host (`verify-full`).
    pub fn new(config: ClientConfig, checks_host: bool) -> Connector {
        let unnamed = (!checks_host).then(|| {
            let mut config = config.clone();
            config.enable_sni = false;
            MakeRustlsConnect::new(config)
        });
        Connector {
            named: MakeRustlsConnect::new(config),
            unnamed,
        }
    }
}

/// The name to hand rustls for `host`, and whether it is the host's own.
pub fn handshake_name(host: &str, checks_host: bool) -> (&str, bool) {
    match ServerName::try_from(host) {
        Ok(_) => (host, true),
        Err(_) if !checks_host => (UNCHECKED_NAME, false),
        Err(_) => (host, true),
    }
}

impl<S> MakeTlsConnect<S> for Connector
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = <MakeRustlsConnect as MakeTlsConnect<S>>::Stream;
    type TlsConnect = <MakeRustlsConnect as MakeTlsConnect<S>>::TlsConnect;
    type Error = <MakeRustlsConnect as MakeTlsConnect<S>>::Error;

    fn make_tls_connect(&mut self, host: &str) -> Result<Self::TlsConnect, Self::Error> {
        match (handshake_name(host, self.unnamed.is_none()), &mut self.unnamed) {
            ((name, false), Some(unnamed)) => MakeTlsConnect::<S>::make_tls_connect(unnamed, name),
            ((name, _), _) => MakeTlsConnect::<S>::make_tls_connect(&mut self.named, name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_rustls_cannot_name_are_handshaken_unnamed_unless_the_host_is_checked() {
        assert_eq!(handshake_name("db.example.com", false), ("db.example.com", true));
        assert_eq!(handshake_name("127.0.0.1", false), ("127.0.0.1", true));
        assert_eq!(handshake_name("::1", true), ("::1", true));
        assert_eq!(handshake_name("127.1", false), (UNCHECKED_NAME, false));
        assert_eq!(handshake_name("2130706433", false), (UNCHECKED_NAME, false));
        // verify-full keeps the host, and its error.
        assert_eq!(handshake_name("127.1", true), ("127.1", true));
    }
}
