//! TLS for `https://` servers: whom the client trusts and the name the certificate must carry.

use crate::error::usage;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Whom a client trusts: the certificates in `ca_file` (the server's own self-signed
/// certificate will do), else the system's CA bundle.
pub(super) fn tls_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
    let path = match ca_file {
        Some(p) => p.to_path_buf(),
        None if Path::new(SYSTEM_BUNDLE).exists() => PathBuf::from(SYSTEM_BUNDLE),
        None => {
            return Err(usage(
                "an https:// server needs certificates to trust: pass --ca-file FILE (PEM)",
            ));
        }
    };
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(&path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| usage(format!("--ca-file {}: {e}", path.display())))?;
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(usage(format!(
            "--ca-file {}: no usable PEM certificate in the file",
            path.display()
        )));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The name a server's certificate must carry: the host of `host:port` (a DNS name or an IP).
pub(super) fn server_name(addr: &str) -> Result<rustls::pki_types::ServerName<'static>> {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| usage(format!("{host:?} is not a host name or IP address")))
}
