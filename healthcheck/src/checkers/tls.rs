//! TLS client settings for `SSL_GET` (rustls with the ring provider).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::ConfigError;

/// How the server certificate is checked.
#[derive(Debug, Clone, Default)]
pub enum TlsVerify {
    /// No verification (keepalived's default for `SSL_GET`): only the handshake
    /// signatures are checked, any certificate is accepted.
    #[default]
    None,
    /// Verify the chain against these roots and the name against the SNI name (or the
    /// target IP when SNI is off).
    Roots(Arc<RootCertStore>),
}

/// TLS options of an HTTPS check.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Certificate verification.
    pub verify: TlsVerify,
    /// keepalived `enable_sni` + `sni_name`: the name sent in SNI. `None` sends no SNI.
    pub sni: Option<String>,
}

impl TlsOptions {
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, ConfigError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ConfigError::Tls(e.to_string()))?;
        let mut config = match &self.verify {
            TlsVerify::None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
                .with_no_client_auth(),
            TlsVerify::Roots(roots) => builder
                .with_root_certificates(roots.clone())
                .with_no_client_auth(),
        };
        config.enable_sni = self.sni.is_some();
        Ok(Arc::new(config))
    }
}

/// Accepts any certificate but still checks the handshake signatures with it.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
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
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
