//! When a certificate expires (its validity's notAfter), so that `describe lb` can say so.
//! The DER is read by `x509-parser`; anything it cannot read gives `None`, never a panic.

/// When the certificate (DER) stops being valid, in seconds since the Unix epoch.
pub(crate) fn not_after(der: &[u8]) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.validity().not_after.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    /// `openssl req -x509 ... -days 3650`: notAfter=Nov 23 01:56:31 2036 GMT (a UTCTime).
    const UTC: &str = "-----BEGIN CERTIFICATE-----
MIIBhjCCAS2gAwIBAgIUMB676zPXYH52uL3Qb0aYvuHJk8EwCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOZXhwaXJ5LmV4YW1wbGUwHhcNMjYxMTI2MDE1NjMxWhcNMzYx
MTIzMDE1NjMxWjAZMRcwFQYDVQQDDA5leHBpcnkuZXhhbXBsZTBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABG9B7HAycuw6VbWxHLyS8/QzgP9DpvLAROkpBdJWQqd5
uoCU7m8AbIg1xVoT6tm1v87n47bhS9xRw+z4YO1/2/ujUzBRMB0GA1UdDgQWBBRN
9uS3/2W2R2oeZ48FGlCu8OrdfDAfBgNVHSMEGDAWgBRN9uS3/2W2R2oeZ48FGlCu
8OrdfDAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIGPYaeI43Um8
CGXh2XIi2oFDBuP6aBQFRipqk9TK7e6JAiB1mwNMbMZvOdncBBpP2UsY5hMP+Oiw
jbjxuRmYGMOAGg==
-----END CERTIFICATE-----
";

    /// `-days 10000`: notAfter=Apr 13 01:56:34 2054 GMT (a GeneralizedTime, as from 2050).
    const GENERALIZED: &str = "-----BEGIN CERTIFICATE-----
MIIBhDCCASugAwIBAgIUEJ15No0QClGm/19fDcBQ1imZtdQwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMbGF0ZS5leGFtcGxlMCAXDTI2MTEyNjAxNTYzNFoYDzIwNTQw
NDEzMDE1NjM0WjAXMRUwEwYDVQQDDAxsYXRlLmV4YW1wbGUwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAASuEM3UpOcrQXCCDHBjRNEO2tEsLbIqwt/a+2Z/mI/PXYto
j8a2FQORXwTt7/p+bszowQcRpHGkFC1AsXc1vLijo1MwUTAdBgNVHQ4EFgQU7Axg
IpEOa38wWAWJeWNNs4jOkzswHwYDVR0jBBgwFoAU7AxgIpEOa38wWAWJeWNNs4jO
kzswDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiAI3Vit3aZXBTCd
jUZ64MQ2/jaf09PxCPnH3AnHEEtMSgIga2JFmyQcvIDxbm6lZNoDFGRoPGDsuRGm
thhIwsBQxeM=
-----END CERTIFICATE-----
";

    fn der(pem: &str) -> Vec<u8> {
        CertificateDer::from_pem_slice(pem.as_bytes())
            .expect("pem")
            .to_vec()
    }

    #[test]
    fn reads_utc_and_generalized_times() {
        // The values `date -d "$(openssl x509 -noout -enddate ...)" +%s` prints.
        assert_eq!(not_after(&der(UTC)), Some(2_111_018_191));
        assert_eq!(not_after(&der(GENERALIZED)), Some(2_659_658_194));
    }

    #[test]
    fn anything_else_is_none_not_a_panic() {
        let good = der(UTC);
        for n in 0..good.len() {
            let _ = not_after(&good[..n]);
        }
        assert_eq!(not_after(&good[..good.len() / 2]), None);
        assert_eq!(not_after(b""), None);
        assert_eq!(not_after(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
    }
}
