//! Self-signed certificates made by openssl, for HTTPS listeners in the tests and the proxy
//! bench (which includes this file by path).

use std::path::Path;

/// A certificate for the DNS name `name` (valid 2 days; not a CA: webpki refuses a CA
/// certificate as a server's own) and its key, as PEM texts; the files are `NAME.crt` and
/// `NAME.key` in `dir`. Why not, when openssl cannot make them.
pub fn self_signed(dir: &Path, name: &str) -> Result<(String, String), String> {
    let (crt, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    let o = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", &format!("/CN={name}")])
        .args(["-addext", &format!("subjectAltName=DNS:{name}")])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .map_err(|e| format!("openssl (Debian's openssl package): {e}"))?;
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    Ok((read(&crt)?, read(&key)?))
}
