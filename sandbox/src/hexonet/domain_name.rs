//! Domain names as the sandbox registry takes them: the ACE (punycode) and
//! IDN forms of a name (UTS 46, via the `idna` crate), the TLDs it sells,
//! and `*` patterns.

/// The TLDs the sandbox sells, with the yearly price in cents (EUR).
pub(crate) const TLDS: [(&str, i64); 9] = [
    ("com", 850),
    ("net", 990),
    ("org", 950),
    ("info", 1200),
    ("de", 490),
    ("eu", 590),
    ("be", 690),
    ("nl", 690),
    ("io", 3900),
];

/// A valid name in both forms, lower case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DomainName {
    /// The ASCII form, `xn--mnchen-3ya.de`.
    pub(crate) ace: String,
    /// The Unicode form, `münchen.de` (the ACE form for an ASCII name).
    pub(crate) idn: String,
}

/// Why a name is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NameError {
    /// Occurs when the text is no host name: bad characters or hyphens,
    /// empty or overlong labels, a single label.
    Syntax,
    /// Occurs when the name is valid but the sandbox does not sell its TLD.
    UnsupportedTld,
}

impl DomainName {
    /// Reads `input` in either form (any case).
    ///
    /// # Errors
    /// [`NameError::Syntax`] for anything that is no registrable name,
    /// [`NameError::UnsupportedTld`] for a TLD outside [`TLDS`].
    pub(crate) fn parse(input: &str) -> Result<Self, NameError> {
        let ace = convert(input)?;
        if !TLDS.iter().any(|(tld, _)| *tld == tld_of(&ace)) {
            return Err(NameError::UnsupportedTld);
        }
        let idn = to_idn(&ace)?;
        Ok(DomainName { ace, idn })
    }

    /// The TLD, `de`.
    pub(crate) fn tld(&self) -> &str {
        tld_of(&self.ace)
    }

    /// The yearly price in cents.
    pub(crate) fn annual_price(&self) -> i64 {
        TLDS.iter()
            .find(|(tld, _)| *tld == self.tld())
            .map_or(0, |(_, price)| *price)
    }
}

/// The ACE form of any syntactically valid host name of two labels or more,
/// whatever its TLD.
pub(crate) fn convert(input: &str) -> Result<String, NameError> {
    let ace = to_ace(input)?;
    if ace.split('.').count() < 2 {
        return Err(NameError::Syntax);
    }
    Ok(ace)
}

/// The ACE form of any syntactically valid host name or label, as
/// `ConvertIDN` takes them.
pub(crate) fn to_ace(input: &str) -> Result<String, NameError> {
    if input.ends_with('.') {
        return Err(NameError::Syntax);
    }
    idna::domain_to_ascii_strict(input).map_err(|_| NameError::Syntax)
}

/// The Unicode form of an ACE name.
pub(crate) fn to_idn(ace: &str) -> Result<String, NameError> {
    let (idn, result) = idna::domain_to_unicode(ace);
    result.map(|()| idn).map_err(|_| NameError::Syntax)
}

fn tld_of(ace: &str) -> &str {
    ace.rsplit('.').next().unwrap_or_default()
}

/// `text` matches `pattern`, where `*` stands for any run of characters,
/// case-insensitively.
pub(crate) fn matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    let text: Vec<char> = text.to_lowercase().chars().collect();
    // Greedy matching with one backtrack point: linear for `*` patterns.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! cases {
        ($($name:ident: $got:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!($got, $want);
            }
        )*};
    }

    fn both(input: &str) -> Result<(String, String), NameError> {
        DomainName::parse(input).map(|n| (n.ace, n.idn))
    }

    fn owned(a: &str, b: &str) -> (String, String) {
        (a.to_owned(), b.to_owned())
    }

    cases! {
        an_ascii_name_is_its_own_idn: both("Example.COM") => Ok(owned("example.com", "example.com"));
        an_idn_gets_its_ace_form: both("München.de") => Ok(owned("xn--mnchen-3ya.de", "münchen.de"));
        an_ace_name_gets_its_idn_form: both("xn--mnchen-3ya.de") => Ok(owned("xn--mnchen-3ya.de", "münchen.de"));
        a_single_label_is_refused: both("localhost") => Err(NameError::Syntax);
        an_underscore_is_refused: both("a_b.com") => Err(NameError::Syntax);
        a_leading_hyphen_is_refused: both("-ab.com") => Err(NameError::Syntax);
        an_empty_label_is_refused: both("a..com") => Err(NameError::Syntax);
        a_trailing_dot_is_refused: both("a.com.") => Err(NameError::Syntax);
        a_space_is_refused: both("a b.com") => Err(NameError::Syntax);
        an_overlong_label_is_refused: both(&format!("{}.com", "a".repeat(64))) => Err(NameError::Syntax);
        an_unsold_tld_is_refused: both("example.xyz") => Err(NameError::UnsupportedTld);
        an_empty_name_is_refused: both("") => Err(NameError::Syntax);
        prices_follow_the_tld: DomainName::parse("a.io").map(|n| n.annual_price()) => Ok(3900);
        a_star_matches_any_run: matches("*sandbox*.c*m", "my-SANDBOX-1.com") => true;
        a_pattern_without_star_is_exact: matches("a.com", "a.com.de") => false;
        a_lone_star_matches_nothing_too: matches("*", "") => true;
        the_last_star_backtracks: matches("*a*b", "xaxbxab") => true;
        a_missing_tail_does_not_match: matches("a*c", "abcb") => false;
    }
}
