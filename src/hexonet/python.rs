//! Small re-implementations of the Python built-ins the SDK leans on, so the
//! Rust side produces the same bytes: `str(float)`, `str.isspace`, `int(str)`,
//! `float(str)`, `urllib.parse.quote` and `unquote`.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The bytes `urllib.parse.quote(s)` leaves alone: letters, digits, `_.-~`
/// (always safe) and `/` (its default `safe` argument).
const QUOTE_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'/');

/// `urllib.parse.quote(s)`: UTF-8 percent-encoding with upper-case hex,
/// spaces as `%20` (not `+`), `/` kept.
pub(crate) fn quote(s: &str) -> String {
    utf8_percent_encode(s, QUOTE_SAFE).to_string()
}

/// `urllib.parse.unquote(s)`: the text [`quote`] encoded, invalid UTF-8
/// replaced as Python replaces it.
pub(crate) fn unquote(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// `str(x)` for a Python float: the shortest repr that round-trips, in fixed
/// notation when the decimal exponent is in `-4..16`, else scientific with a
/// signed, at least two-digit exponent (`1e+16`, `1e-05`); `1.0`, `-0.0`.
pub(crate) fn float_str(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // `{:e}` gives the shortest round-trip digits, like Python's repr.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = even_of_a_tie(x.abs(), digits);
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let fixed = if exp < 0 {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        } else {
            let int_len = exp as usize + 1;
            if digits.len() > int_len {
                format!("{}.{}", &digits[..int_len], &digits[int_len..])
            } else {
                format!("{digits}{}.0", "0".repeat(int_len - digits.len()))
            }
        };
        format!("{sign}{fixed}")
    } else {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{dot}{rest}e{exp_sign}{:02}", exp.abs())
    }
}

/// Where two shortest digit strings are equally near `x` (its exact value
/// ends in a 5 right after them), Python's repr takes the one ending in an
/// even digit; Rust's `{:e}` may take the other (`1361244975608444.25`:
/// Python `…444.2`, Rust `…444.3`).
fn even_of_a_tie(x: f64, digits: String) -> String {
    let n = digits.len();
    // Every f64 has a finite decimal expansion of at most 767 significant digits.
    let exact = format!("{x:.800e}");
    let exact: Vec<u8> = exact
        .split_once('e')
        .map_or("", |(mantissa, _)| mantissa)
        .bytes()
        .filter(u8::is_ascii_digit)
        .collect();
    let tie = exact.get(n) == Some(&b'5') && exact[n + 1..].iter().all(|d| *d == b'0');
    let Some(lower) = exact.get(..n).filter(|_| tie) else {
        return digits;
    };
    match lower.last() {
        Some(last) if last % 2 == 0 => String::from_utf8_lossy(lower).into_owned(),
        Some(last) if *last < b'9' => {
            let mut upper = lower.to_vec();
            upper[n - 1] = last + 1;
            String::from_utf8_lossy(&upper).into_owned()
        }
        _ => digits,
    }
}

/// `c.isspace()` in Python: Unicode `White_Space` plus the ASCII
/// information separators U+001C..U+001F. It is what `\s` matches in a
/// Python `str` regular expression.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `int(s)` in Python for ASCII digits: surrounding whitespace, one sign and
/// single underscores between digits are accepted. `None` where Python
/// raises `ValueError` (or where the value does not fit an `i64`).
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim_matches(is_space);
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if !valid_digit_groups(body) {
        return None;
    }
    let digits: String = body.chars().filter(|c| *c != '_').collect();
    let magnitude: i128 = digits.parse().ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// `float(s)` in Python for ASCII input: decimal and scientific notation,
/// `inf`/`infinity`/`nan` in any case, surrounding whitespace, underscores
/// between digits. `None` where Python raises `ValueError`.
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    let s = s.trim_matches(is_space);
    if s.contains('_') {
        let ok = s
            .split(|c: char| !c.is_ascii_digit() && c != '_')
            .all(|part| part.is_empty() || valid_digit_groups(part));
        if !ok {
            return None;
        }
    }
    let plain: String = s.chars().filter(|c| *c != '_').collect();
    let unsigned = plain.trim_start_matches(['+', '-']);
    // Rust also accepts these words, but Python accepts exactly these three.
    let word = unsigned.to_ascii_lowercase();
    if unsigned.len() + 1 < plain.len()
        || (word.starts_with(['i', 'n']) && !matches!(word.as_str(), "inf" | "infinity" | "nan"))
    {
        return None;
    }
    plain.parse().ok()
}

/// Digits with single underscores strictly between them (`1_000`).
fn valid_digit_groups(s: &str) -> bool {
    !s.is_empty()
        && s.split('_')
            .all(|group| !group.is_empty() && group.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! cases {
        ($($name:ident: $f:ident($input:expr) == $want:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!($f($input), $want);
            }
        )*};
    }

    cases! {
        float_one_prints_with_a_trailing_zero: float_str(1.0) == "1.0";
        float_negative_zero_keeps_its_sign: float_str(-0.0) == "-0.0";
        float_tenth_prints_shortest: float_str(0.1) == "0.1";
        float_ten_to_the_sixteen_switches_to_scientific: float_str(1e16) == "1e+16";
        float_just_below_ten_to_the_sixteen_stays_fixed: float_str(1234567890123456.0) == "1234567890123456.0";
        float_ten_to_the_minus_four_stays_fixed: float_str(0.0001) == "0.0001";
        float_ten_to_the_minus_five_pads_the_exponent: float_str(1e-5) == "1e-05";
        float_large_exponent_keeps_mantissa_digits: float_str(-1.5e300) == "-1.5e+300";
        float_two_to_the_seventy_has_seventeen_digits: float_str(2f64.powi(70)) == "1.1805916207174113e+21";
        float_ties_between_shortest_digits_go_to_even: float_str(1_361_244_975_608_444.0 + 0.25) == "1361244975608444.2";
        float_ties_go_up_to_even_too: float_str(1_361_244_975_608_444.0 + 0.75) == "1361244975608444.8";
        float_a_half_is_no_tie: float_str(0.5) == "0.5";
        quote_keeps_slash_and_unreserved: quote("a/b_c.d-e~f") == "a/b_c.d-e~f";
        quote_encodes_space_plus_and_unicode: quote("a b+ü=&%") == "a%20b%2B%C3%BC%3D%26%25";
        int_accepts_surrounding_space_and_sign: parse_int(" +42\t") == Some(42);
        int_accepts_underscores_between_digits: parse_int("1_000") == Some(1000);
        int_refuses_double_underscores: parse_int("1__0") == None;
        int_refuses_decimals: parse_int("1.0") == None;
        int_refuses_empty_text: parse_int("") == None;
        float_parses_exponents: parse_float("1e3") == Some(1000.0);
        float_parses_leading_dot: parse_float(" .5 ") == Some(0.5);
        float_refuses_words_python_refuses: parse_float("infin") == None;
        float_refuses_double_signs: parse_float("+-1") == None;
    }

    #[test]
    fn float_parses_infinity_in_any_case() {
        assert_eq!(parse_float("-iNfInItY"), Some(f64::NEG_INFINITY));
    }
}
