//! Cron schedules of scheduled scaling actions: five fields (`m h dom mon dow`) or
//! Application Auto Scaling's `cron(m h dom mon dow year)` with `?`; UTC, minute precision.

use time::OffsetDateTime;

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    fields: [Vec<bool>; 5],
}

const RANGES: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];

impl Cron {
    /// Parses a schedule; the error says which field is wrong.
    pub fn parse(s: &str) -> Result<Cron, String> {
        let s = s.trim();
        let inner = s
            .strip_prefix("cron(")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or(s);
        let parts: Vec<&str> = inner.split_whitespace().collect();
        if parts.len() != 5 && parts.len() != 6 {
            return Err(format!(
                "expected 5 cron fields (m h dom mon dow) or cron(m h dom mon dow year), got {s:?}"
            ));
        }
        let mut fields: [Vec<bool>; 5] = Default::default();
        for (i, part) in parts.iter().take(5).enumerate() {
            let (lo, hi) = RANGES[i];
            let mut set = vec![false; hi as usize + 1];
            for item in part.split(',') {
                let (range, step) = match item.split_once('/') {
                    Some((r, st)) => (
                        r,
                        st.parse::<u32>()
                            .map_err(|_| format!("bad step in {item:?}"))?,
                    ),
                    None => (item, 1),
                };
                let (a, b) = match range {
                    "*" | "?" => (lo, hi),
                    r => match r.split_once('-') {
                        Some((x, y)) => (num(x)?, num(y)?),
                        None => {
                            let v = num(r)?;
                            (v, if item.contains('/') { hi } else { v })
                        }
                    },
                };
                if a < lo || b > hi || a > b || step == 0 {
                    return Err(format!("field {} ({item:?}) is outside {lo}..{hi}", i + 1));
                }
                (a..=b)
                    .step_by(step as usize)
                    .for_each(|v| set[v as usize] = true);
            }
            fields[i] = set;
        }
        Ok(Cron { fields })
    }

    fn matches(&self, t: OffsetDateTime) -> bool {
        let v = [
            t.minute() as usize,
            t.hour() as usize,
            t.day() as usize,
            u8::from(t.month()) as usize,
            t.weekday().number_days_from_sunday() as usize,
        ];
        v.iter()
            .zip(&self.fields)
            .all(|(x, f)| f.get(*x).copied().unwrap_or(false))
    }

    /// The latest time at or before `now` (within 8 days) that the schedule fired.
    pub fn last_fire(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let start = now.replace_second(0).ok()?.replace_nanosecond(0).ok()?;
        (0..8 * 24 * 60)
            .map(|m| start - time::Duration::minutes(m))
            .find(|t| self.matches(*t))
    }
}

fn num(s: &str) -> Result<u32, String> {
    s.parse().map_err(|_| format!("{s:?} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_finds_the_last_fire() {
        let now = OffsetDateTime::from_unix_timestamp(1_767_261_600).unwrap(); // 2026-01-01 10:00 UTC, a Thursday
        let c = Cron::parse("cron(0 9 * * ? *)").unwrap();
        assert_eq!(c.last_fire(now).unwrap().hour(), 9);
        let c = Cron::parse("*/15 * * * *").unwrap();
        assert_eq!(c.last_fire(now).unwrap(), now);
        assert!(Cron::parse("61 * * * *").is_err());
        assert!(Cron::parse("* * *").is_err());
    }
}
