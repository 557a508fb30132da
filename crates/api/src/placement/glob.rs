//! The wildcard match of `=~`: `*` matches any run of characters (none included), every
//! other character matches itself, and the pattern must cover the whole value.

/// Whether `value` matches `pattern`. Linear in practice: on a mismatch after a `*`, the
/// `*` takes one more character and the match resumes (the classic two-pointer walk), so
/// no input makes it exponential.
pub(super) fn matches(pattern: &str, value: &str) -> bool {
    // Bytes are enough: `*` is ASCII, so it never splits a UTF-8 character, and every
    // other character compares byte for byte.
    let (p, v) = (pattern.as_bytes(), value.as_bytes());
    let (mut pi, mut vi) = (0, 0);
    // The last `*` seen, and where in `value` it stopped matching.
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, vi));
            pi += 1;
        } else if pi < p.len() && p[pi] == v[vi] {
            pi += 1;
            vi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn star_matches_any_run_and_the_rest_is_literal() {
        let yes = [
            ("g2.*", "g2.2xlarge"),
            ("g2.*", "g2."),
            ("*", ""),
            ("*", "anything"),
            ("t3.*large", "t3.xlarge"),
            ("t3.*large", "t3.large"),
            ("*-1a", "us-east-1a"),
            ("a*b*c", "aXbYc"),
            ("a*b*c", "abc"),
            ("é*", "été"),
            ("exact", "exact"),
        ];
        for (p, v) in yes {
            assert!(matches(p, v), "{p:?} should match {v:?}");
        }
        let no = [
            ("g2.*", "g2x"),   // '.' is a dot, not any character
            ("g2.*", "xg2.1"), // anchored at the start
            ("*-1a", "us-east-1b"),
            ("a*b*c", "acb"),
            ("exact", "exactly"), // anchored at the end
            ("", "x"),
        ];
        for (p, v) in no {
            assert!(!matches(p, v), "{p:?} should not match {v:?}");
        }
    }

    #[test]
    fn many_stars_stay_fast() {
        let pattern = "*a".repeat(200) + "b";
        let value = "a".repeat(5000);
        let t = std::time::Instant::now();
        assert!(!matches(&pattern, &value));
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
    }
}
