//! `*` and `?` wildcards for rule matchers (entitlement references, role
//! ids, action kinds, environments).

/// Whether `text` matches `pattern`: `*` is any run of characters (none
/// included), `?` exactly one character, everything else literal and
/// case-sensitive.
///
/// The pattern is cut at its stars into literal pieces; the first piece must
/// start the text, the last must end it, and the ones between are found
/// left to right, each as early as possible. Taking the earliest place for a
/// middle piece never loses a match, so there is no backtracking.
pub(crate) fn matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let pieces: Vec<&[char]> = pattern.split(|&c| c == '*').collect();
    let (first, rest) = match pieces.split_first() {
        Some(split) => split,
        None => return text.is_empty(),
    };
    if rest.is_empty() {
        // No star: the whole text is one piece.
        return text.len() == first.len() && piece_at(first, &text);
    }
    if !piece_at(first, &text) {
        return false;
    }
    let mut from = first.len();
    let (last, middle) = match rest.split_last() {
        Some(split) => split,
        None => return true,
    };
    for piece in middle {
        match find(piece, text.get(from..).unwrap_or(&[])) {
            Some(at) => from += at + piece.len(),
            None => return false,
        }
    }
    // The last piece ends the text and must not overlap what is matched.
    text.len() >= from + last.len()
        && piece_at(last, text.get(text.len() - last.len()..).unwrap_or(&[]))
}

/// Whether `piece` matches the start of `text`.
fn piece_at(piece: &[char], text: &[char]) -> bool {
    piece.len() <= text.len() && piece.iter().zip(text).all(|(&p, &t)| p == '?' || p == t)
}

/// The first position in `text` where `piece` matches.
fn find(piece: &[char], text: &[char]) -> Option<usize> {
    (0..=text.len().checked_sub(piece.len())?)
        .find(|&at| piece_at(piece, text.get(at..).unwrap_or(&[])))
}

/// Whether a matcher has wildcards (for warnings about literal patterns).
pub(crate) fn is_pattern(text: &str) -> bool {
    text.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::matches as m;
    use proptest::prelude::*;

    #[test]
    fn literals_stars_and_question_marks() {
        assert!(m("deploy", "deploy"));
        assert!(!m("deploy", "deploys"));
        assert!(!m("deploy", "deplo"));
        assert!(m("erp:VENDOR_*", "erp:VENDOR_CREATE"));
        assert!(m("erp:VENDOR_*", "erp:VENDOR_"));
        assert!(!m("erp:VENDOR_*", "erp:VENDOR"));
        assert!(m("aws:*", "aws:ReadOnlyAccess"));
        assert!(!m("aws:*", "awsx:ReadOnlyAccess"));
        assert!(m("*:*", "github:finance-app:push"));
        assert!(m("prod*", "prod-eu"));
        assert!(m("*-eu", "prod-eu"));
        assert!(m("p?od", "prod"));
        assert!(!m("p?od", "pod"));
        assert!(m("*a*b*", "xxayybzz"));
        assert!(!m("*a*b*", "xxbyyazz"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*a", "a"), "the first and last pieces must not overlap");
        assert!(m("*", ""));
        assert!(!m("?", ""));
        assert!(m("", ""));
        assert!(!m("", "x"));
        assert!(!m("Prod", "prod"), "case-sensitive");
        assert!(m("ä?", "äö"));
    }

    /// The obvious exponential definition, for small inputs.
    fn reference(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..])),
            Some((&c, rest)) => {
                !t.is_empty() && (c == '?' || c == t[0]) && reference(rest, &t[1..])
            }
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_recursive_definition(p in "[ab*?]{0,7}", t in "[ab]{0,8}") {
            let pc: Vec<char> = p.chars().collect();
            let tc: Vec<char> = t.chars().collect();
            prop_assert_eq!(m(&p, &t), reference(&pc, &tc));
        }
    }
}
