//! TLS for a test cluster's client port: which files a member serves with
//! ([`TlsFiles`]), and a throwaway certificate authority to make them ([`TestPki`]).
//!
//! The certificates are made by the `openssl` command (Debian's `openssl` package), as the
//! rest of the workspace's tests make theirs: no certificate library in the dependency tree
//! for the sake of tests. The shapes are what both sides of ecsctl's etcd connection demand:
//! - a CA certificate with `CA:TRUE` and `keyCertSign` (webpki and Go both check);
//! - a server certificate that is not a CA (webpki refuses a CA certificate as a peer's own),
//!   names `IP:127.0.0.1` (ecsctl dials members by address, and rustls checks the IP SAN),
//!   and allows `clientAuth` besides `serverAuth`: etcd's JSON gateway dials its own gRPC
//!   server presenting the member's certificate, and a `--client-cert-auth` member checks
//!   it like any client's;
//! - a client certificate for `clientAuth`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::HarnessError;

/// What a member serves its client port with ([`EtcdCluster::start_tls`]).
///
/// [`EtcdCluster::start_tls`]: crate::EtcdCluster::start_tls
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The member's certificate (PEM): `--cert-file`.
    pub cert: PathBuf,
    /// Its private key (PEM): `--key-file`.
    pub key: PathBuf,
    /// With a CA: the member demands a client certificate signed by it
    /// (`--client-cert-auth --trusted-ca-file CA`). Without: any client that trusts the
    /// member's certificate may connect.
    pub client_ca: Option<PathBuf>,
}

/// A certificate and its private key, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPair {
    /// The certificate.
    pub cert: PathBuf,
    /// Its private key (unencrypted).
    pub key: PathBuf,
}

/// A throwaway certificate authority and what it signed: a server certificate for
/// `127.0.0.1` and a client certificate, valid two days, in a directory the caller owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPki {
    /// The CA's certificate: what a client gives as `--etcd-ca`, and a member as
    /// `--trusted-ca-file`.
    pub ca: PathBuf,
    /// A server certificate for `IP:127.0.0.1`, signed by the CA.
    pub server: CertPair,
    /// A client certificate, signed by the CA: `--etcd-cert` and `--etcd-key`.
    pub client: CertPair,
}

impl TestPki {
    /// Makes a CA and the certificates it signs in `dir`, under file names starting with
    /// `name` (`NAME-ca.crt`, `NAME-server.crt`, `NAME-client.key`, ...): two calls with
    /// different names make two unrelated authorities in one directory.
    ///
    /// # Errors
    /// [`HarnessError::Openssl`] when `openssl` is missing or fails (with what it said).
    pub fn generate(dir: &Path, name: &str) -> Result<Self, HarnessError> {
        let ca = CertPair {
            cert: dir.join(format!("{name}-ca.crt")),
            key: dir.join(format!("{name}-ca.key")),
        };
        openssl(
            Command::new("openssl")
                .args(["req", "-x509"])
                .args(new_key())
                .args(["-days", "2", "-subj", &format!("/CN={name} test CA")])
                .args(["-addext", "basicConstraints=critical,CA:TRUE"])
                .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
                .arg("-keyout")
                .arg(&ca.key)
                .arg("-out")
                .arg(&ca.cert),
            "make a CA certificate",
        )?;
        let server = issue(
            &ca,
            dir,
            &format!("{name}-server"),
            "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1\n",
        )?;
        let client = issue(
            &ca,
            dir,
            &format!("{name}-client"),
            "extendedKeyUsage=clientAuth\n",
        )?;
        Ok(Self {
            ca: ca.cert,
            server,
            client,
        })
    }

    /// The files a member serves with: the server certificate, and when `client_auth`, this
    /// CA as the one client certificates must come from.
    pub fn server_files(&self, client_auth: bool) -> TlsFiles {
        TlsFiles {
            cert: self.server.cert.clone(),
            key: self.server.key.clone(),
            client_ca: client_auth.then(|| self.ca.clone()),
        }
    }
}

/// `openssl` arguments for a new unencrypted P-256 key.
fn new_key() -> [&'static str; 5] {
    [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ]
}

/// A leaf certificate `DIR/STEM.crt` (and `.key`) signed by `ca`, with the extensions in
/// `extensions` (lines of an openssl extension file) besides "not a CA, for signatures".
fn issue(
    ca: &CertPair,
    dir: &Path,
    stem: &str,
    extensions: &str,
) -> Result<CertPair, HarnessError> {
    let pair = CertPair {
        cert: dir.join(format!("{stem}.crt")),
        key: dir.join(format!("{stem}.key")),
    };
    let request = dir.join(format!("{stem}.csr"));
    let extfile = dir.join(format!("{stem}.ext"));
    std::fs::write(
        &extfile,
        format!(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n{extensions}"
        ),
    )
    .map_err(|e| HarnessError::io(format!("write {}", extfile.display()), e))?;
    openssl(
        Command::new("openssl")
            .args(["req", "-new"])
            .args(new_key())
            .args(["-subj", &format!("/CN={stem}")])
            .arg("-keyout")
            .arg(&pair.key)
            .arg("-out")
            .arg(&request),
        "make a certificate request",
    )?;
    // `x509 -req -extfile` rather than `req -x509 -CA` (OpenSSL 3 only): works with 1.1 too.
    openssl(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-in"])
            .arg(&request)
            .arg("-CA")
            .arg(&ca.cert)
            .arg("-CAkey")
            .arg(&ca.key)
            .arg("-CAcreateserial")
            .arg("-CAserial")
            .arg(dir.join(format!("{stem}.srl")))
            .arg("-extfile")
            .arg(&extfile)
            .arg("-out")
            .arg(&pair.cert),
        "sign a certificate",
    )?;
    Ok(pair)
}

fn openssl(command: &mut Command, action: &str) -> Result<(), HarnessError> {
    let output = command.output().map_err(|e| HarnessError::Openssl {
        action: action.to_string(),
        reason: format!("cannot run openssl (Debian's openssl package): {e}"),
    })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(HarnessError::Openssl {
            action: action.to_string(),
            reason: format!(
                "openssl {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The extensions both TLS stacks insist on, as openssl prints them back.
    #[test]
    fn certificates_have_the_shapes_rustls_and_etcd_demand() {
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::generate(dir.path(), "t").unwrap();
        let text = |path: &Path| {
            let o = Command::new("openssl")
                .args(["x509", "-noout", "-text", "-in"])
                .arg(path)
                .output()
                .unwrap();
            assert!(o.status.success());
            String::from_utf8(o.stdout).unwrap()
        };
        let ca = text(&pki.ca);
        assert!(ca.contains("CA:TRUE"), "{ca}");
        assert!(ca.contains("Certificate Sign"), "{ca}");
        let server = text(&pki.server.cert);
        assert!(server.contains("CA:FALSE"), "{server}");
        assert!(server.contains("IP Address:127.0.0.1"), "{server}");
        assert!(
            server.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
            "{server}"
        );
        let client = text(&pki.client.cert);
        assert!(client.contains("TLS Web Client Authentication"), "{client}");
        assert!(!client.contains("Server Authentication"), "{client}");

        // Both chain to the CA, and only to it.
        let verify = |ca: &Path, cert: &Path| {
            Command::new("openssl")
                .arg("verify")
                .arg("-CAfile")
                .arg(ca)
                .arg(cert)
                .output()
                .unwrap()
                .status
                .success()
        };
        assert!(verify(&pki.ca, &pki.server.cert));
        assert!(verify(&pki.ca, &pki.client.cert));
        let other = TestPki::generate(dir.path(), "other").unwrap();
        assert!(!verify(&other.ca, &pki.server.cert));

        assert_eq!(
            pki.server_files(true),
            TlsFiles {
                cert: pki.server.cert.clone(),
                key: pki.server.key.clone(),
                client_ca: Some(pki.ca.clone()),
            }
        );
        assert_eq!(pki.server_files(false).client_ca, None);
    }
}
