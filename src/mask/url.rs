//! URLs as a message may quote them: without user, password, query or
//! fragment, the places where a URL carries credentials
//! (`https://user:pw@host`, `…?token=…`).

/// `value` (a URL, or what was meant to be one) with its userinfo and
/// everything from `?` or `#` on replaced by `***`. Text only: it works on
/// values that do not parse as URLs too.
///
/// # Example
/// ```
/// use exh_task::mask::url::shown;
/// assert_eq!(shown("https://me:pw@x.io/p?token=t"), "https://***@x.io/p?***");
/// ```
pub fn shown(value: &str) -> String {
    let (before_query, query) = match value.find(['?', '#']) {
        Some(at) => (&value[..at], Some(&value[at..at + 1])),
        None => (value, None),
    };
    let (scheme, rest) = match before_query.find("://") {
        Some(at) => before_query.split_at(at + 3),
        None => ("", before_query),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => format!("***{}", &authority[at..]),
        None => authority.to_owned(),
    };
    let query = query.map(|mark| format!("{mark}***")).unwrap_or_default();
    format!("{scheme}{authority}{path}{query}")
}

/// The credentials a URL carries (`http://user:pw@host`), as secrets: the
/// password, decoded and as written, and `user:password`, which basic auth
/// sends base64-encoded. None for a URL without a password.
pub fn credentials(url: Option<&url::Url>) -> Vec<crate::secret::Secret> {
    let Some(password) = url.and_then(url::Url::password) else {
        return Vec::new();
    };
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let user = url.map(url::Url::username).unwrap_or_default();
    [
        password.to_owned(),
        decode(password),
        format!("{}:{}", decode(user), decode(password)),
    ]
    .into_iter()
    .map(crate::secret::Secret::new)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::{credentials, shown};

    #[test]
    fn a_url_password_is_a_secret_with_its_user_pair() {
        let url = url::Url::parse("http://proxy:p%40ss@127.0.0.1/api/call.cgi").unwrap();
        let secrets: Vec<String> = credentials(Some(&url))
            .iter()
            .map(|secret| secret.expose().to_owned())
            .collect();
        assert_eq!(secrets, ["p%40ss", "p@ss", "proxy:p@ss"]);
        assert!(credentials(None).is_empty());
    }

    macro_rules! shows {
        ($($name:ident: $input:literal => $expected:literal;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(shown($input), $expected);
            }
        )*};
    }

    shows! {
        a_plain_url_is_kept: "https://api.x.extrahorizon.io" => "https://api.x.extrahorizon.io";
        user_and_password_are_hidden: "https://user:pw@api.x.io" => "https://***@api.x.io";
        a_query_is_hidden: "api.x.io?token=abc&x=1" => "api.x.io?***";
        a_fragment_is_hidden: "https://x.io/#secret" => "https://x.io/#***";
        userinfo_without_a_scheme_is_hidden: "me:pw@x.io/path" => "***@x.io/path";
        an_at_sign_in_the_path_is_kept: "https://x.io/a@b" => "https://x.io/a@b";
    }
}
