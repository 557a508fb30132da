//! Just enough DER to read when a certificate expires (its validity's notAfter), so that
//! `describe lb` can say so: Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version
//! OPTIONAL, serialNumber, signature, issuer, validity SEQUENCE { notBefore, notAfter }, ...
//! } ... } (RFC 5280 4.1). Anything unexpected gives `None`, never a panic.

/// One DER element: its tag, its contents, and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// When the certificate (DER) stops being valid, in seconds since the Unix epoch.
pub(crate) fn not_after(der: &[u8]) -> Option<i64> {
    let (SEQUENCE, cert, _) = element(der)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = element(cert)? else {
        return None;
    };
    let mut rest = tbs;
    let (tag, _, after) = element(rest)?;
    if tag == 0xa0 {
        rest = after; // [0] version
    }
    for _ in 0..3 {
        rest = element(rest)?.2; // serialNumber, signature, issuer
    }
    let (SEQUENCE, validity, _) = element(rest)? else {
        return None;
    };
    let (_, _, after_not_before) = element(validity)?;
    let (tag, time, _) = element(after_not_before)?;
    let text = std::str::from_utf8(time).ok()?;
    let full = match tag {
        // YYMMDDHHMMSSZ: 50..99 are 19YY, 00..49 are 20YY (RFC 5280 4.1.2.5.1).
        UTC_TIME if text.len() == 13 => {
            let yy: u32 = text.get(..2)?.parse().ok()?;
            format!("{}{text}", if yy >= 50 { "19" } else { "20" })
        }
        GENERALIZED_TIME if text.len() == 15 => text.to_string(),
        _ => return None,
    };
    let num = |r: std::ops::Range<usize>| -> Option<i64> { full.get(r)?.parse().ok() };
    if !full.ends_with('Z') {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(8..10)?, num(10..12)?, num(12..14)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
