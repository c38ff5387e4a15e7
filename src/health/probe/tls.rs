//! TLS client settings for `https` checks: verified against the system's roots, or (with
//! `verify: false`) accepting any certificate while still checking the handshake signatures.

use std::io;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::ProbeError;
use crate::health::spec::Tls;

pub struct Configs {
    provider: Arc<CryptoProvider>,
    /// Built on the first verified check: reading and parsing the system's roots is slow on a
    /// slow machine, and most directors never need them.
    verified: OnceLock<TlsConnector>,
    any: TlsConnector,
}

fn builder(
    p: &Arc<CryptoProvider>,
) -> Result<rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>, rustls::Error> {
    ClientConfig::builder_with_provider(p.clone()).with_safe_default_protocol_versions()
}

fn verified(provider: &Arc<CryptoProvider>) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    // Certificates the system cannot parse are skipped: a check of a real server signed by
    // one of them fails with "unknown issuer", which says what to look at.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    let config = match builder(provider) {
        Ok(b) => b.with_root_certificates(roots).with_no_client_auth(),
        // The ring provider supports the default versions; this arm is never taken.
        Err(_) => ClientConfig::builder().with_root_certificates(RootCertStore::empty()).with_no_client_auth(),
    };
    TlsConnector::from(Arc::new(config))
}

impl Configs {
    pub fn new() -> Configs {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let any_verifier = Arc::new(AcceptAny(provider.signature_verification_algorithms));
        let any = match builder(&provider) {
            Ok(b) => b.dangerous().with_custom_certificate_verifier(any_verifier).with_no_client_auth(),
            Err(_) => {
                ClientConfig::builder().dangerous().with_custom_certificate_verifier(any_verifier).with_no_client_auth()
            }
        };
        Configs { provider, verified: OnceLock::new(), any: TlsConnector::from(Arc::new(any)) }
    }

    pub async fn connect(&self, tcp: TcpStream, address: IpAddr, t: &Tls) -> Result<TlsStream<TcpStream>, ProbeError> {
        let name = match &t.sni {
            Some(sni) => ServerName::try_from(sni.clone())
                .map_err(|e| ProbeError::Tls(io::Error::new(io::ErrorKind::InvalidInput, e)))?,
            None => ServerName::IpAddress(address.into()),
        };
        let connector = if t.verify { self.verified.get_or_init(|| verified(&self.provider)) } else { &self.any };
        connector.connect(name, tcp).await.map_err(ProbeError::Tls)
    }
}

/// `verify: false`: any certificate is taken, but the peer must still prove it holds its key.
#[derive(Debug)]
struct AcceptAny(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
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
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
