//! `*` / `?` wildcard matching over entitlement ids.

/// Whether `text` matches `pattern`, where `*` matches any run of characters
/// (including none) and `?` exactly one character. Everything else is literal
/// and case-sensitive. Also matches the outbox topics of notification routes.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        match_units(pattern.as_bytes(), text.as_bytes(), b'*', b'?')
    } else {
        let pattern: Vec<char> = pattern.chars().collect();
        let text: Vec<char> = text.chars().collect();
        match_units(&pattern, &text, '*', '?')
    }
}

/// Greedy matching that backtracks only to the latest `*`: linear in
/// practice, quadratic at worst, never exponential.
fn match_units<T: PartialEq + Copy>(pattern: &[T], text: &[T], star: T, one: T) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where the latest star was, and the text position it currently absorbs to.
    let mut resume: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(&c) if c == star => {
                resume = Some((p, t));
                p += 1;
            }
            Some(&c) if c == one || text.get(t) == Some(&c) => {
                p += 1;
                t += 1;
            }
            _ => match resume {
                Some((star_at, absorbed)) => {
                    p = star_at + 1;
                    t = absorbed + 1;
                    resume = Some((star_at, absorbed + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == star))
}

#[cfg(test)]
mod tests {
    use super::wildcard_match as m;

    #[test]
    fn stars_and_question_marks() {
        assert!(m("VENDOR_*", "VENDOR_CREATE"));
        assert!(m("VENDOR_*", "VENDOR_"));
        assert!(!m("VENDOR_*", "VENDOR"));
        assert!(m("*_CREATE", "VENDOR_CREATE"));
        assert!(m("V?NDOR", "VENDOR"));
        assert!(!m("V?NDOR", "VNDOR"));
        assert!(m("*A*B*", "xxAyyBzz"));
        assert!(!m("*A*B*", "xxByyAzz"));
        assert!(m("*", ""));
        assert!(!m("?", ""));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("vendor_*", "VENDOR_CREATE"), "case-sensitive");
    }

    #[test]
    fn non_ascii_counts_characters() {
        assert!(m("Zahlung_?", "Zahlung_ä"));
        assert!(m("ä*", "äöü"));
        assert!(!m("??", "ä"));
    }
}
