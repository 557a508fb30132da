//! HTTPS listeners: their certificates (PEM chain and key, from Secrets) turned into a rustls
//! configuration that picks a certificate by the name the client asks for (SNI), and the
//! handshake of each accepted connection.

use crate::types::CertificatePem;
use api::kinds::Listener;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, DnsName, PrivateKeyDer, ServerName};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Longest a client may take to complete its TLS handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why one certificate of a listener cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertError {
    /// The Secret's name (or the reference as written when it names none).
    pub certificate: String,
    pub reason: String,
}

/// An HTTPS listener's rustls configuration, and when each of its certificates expires
/// (seconds since the epoch, in the listener's order).
pub(crate) type Built = (Arc<rustls::ServerConfig>, Vec<Option<i64>>);

/// The rustls configuration of an HTTPS listener: every certificate it lists, the first as
/// the default. `pems` holds the Secrets' values by name.
pub(crate) fn server_config(
    listener: &Listener,
    pems: &BTreeMap<String, CertificatePem>,
) -> Result<Built, CertError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut keys = Vec::new();
    for c in &listener.certificates {
        let name =
            api::secret::named_secret("certificateArn", &c.certificate_arn).map_err(|reason| {
                CertError {
                    certificate: c.certificate_arn.clone(),
                    reason,
                }
            })?;
        let fail = |reason: String| CertError {
            certificate: name.clone(),
            reason,
        };
        let pem = match pems.get(&name) {
            Some(CertificatePem::Pem(pem)) => pem,
            Some(CertificatePem::Unavailable(why)) => return Err(fail(why.clone())),
            None => {
                return Err(fail(format!(
                    "Secret {name} does not exist (apply a Secret named {name} holding the PEM certificate chain and private key)"
                )));
            }
        };
        keys.push(Arc::new(
            certified_key(pem.as_bytes(), &provider).map_err(fail)?,
        ));
    }
    if keys.is_empty() {
        return Err(CertError {
            certificate: "-".to_string(),
            reason: "an HTTPS listener needs at least one certificate".to_string(),
        });
    }
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CertError {
            certificate: "-".to_string(),
            reason: e.to_string(),
        })?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(BySni { keys: keys.clone() }));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let expiry = keys
        .iter()
        .map(|k| {
            k.end_entity_cert()
                .ok()
                .and_then(|c| crate::x509::not_after(c))
        })
        .collect();
    Ok((Arc::new(config), expiry))
}

/// A certificate chain and its key from one PEM text (the order of the blocks is free).
fn certified_key(
    pem: &[u8],
    provider: &rustls::crypto::CryptoProvider,
) -> Result<CertifiedKey, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("unreadable PEM: {e}"))?;
    if certs.is_empty() {
        return Err(
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in the Secret's value".into(),
        );
    }
    let key = PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
        format!("no usable private key (-----BEGIN PRIVATE KEY----- or an RSA/EC key) in the Secret's value: {e}")
    })?;
    CertifiedKey::from_der(certs, key, provider)
        .map_err(|e| format!("the private key does not match the first certificate: {e}"))
}

/// Picks the first certificate valid for the client's SNI name, else the first one.
#[derive(Debug)]
struct BySni {
    keys: Vec<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for BySni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let wanted = hello
            .server_name()
            .and_then(|n| DnsName::try_from(n).ok())
            .map(|n| ServerName::DnsName(n.to_owned()));
        if let Some(name) = wanted {
            for key in &self.keys {
                let valid = key.end_entity_cert().ok().is_some_and(|der| {
                    webpki::EndEntityCert::try_from(der)
                        .is_ok_and(|ee| ee.verify_is_valid_for_subject_name(&name).is_ok())
                });
                if valid {
                    return Some(key.clone());
                }
            }
        }
        self.keys.first().cloned()
    }
}
