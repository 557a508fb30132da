//! RFC 3339 times as statuses store them.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `2026-01-01T00:00:00Z`.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The time a status field holds, if it holds one.
pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}
