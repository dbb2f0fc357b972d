//! `exh.path` must be a path on `API_HOST`: never a URL, never another host.
//!
//! The OAuth1 credentials sign every request, so a path that could lead the
//! client elsewhere (`https://evil`, `//evil`, `\\evil`) or climb out of the
//! API (`/../`, `/%2e%2e/`) is refused before anything is sent.
//!
//! A URL parser drops the spaces that end a URL, so `/users/v1/me/.. `
//! would become `/users/v1/me/..` and then `/users/v1/`: out of an
//! `EXH_ALLOWED_PATHS` entry `/users/v1/me` that the path itself passed.
//! A path that ends with a space is refused, and so is a segment that is a
//! dot segment once decoded and trimmed.

use crate::error::Error;
use percent_encoding::percent_decode_str;

/// Checks that `path` is an absolute path that stays on the host.
pub fn check_path(path: &str) -> Result<(), Error> {
    let refuse = |why: &str| {
        Err(Error::invalid_event(format!(
            "exh.path {path:?} {why}; give a path such as /users/v1/me"
        )))
    };
    if !path.starts_with('/') {
        return refuse("is not a path: it must start with /");
    }
    if path.starts_with("//") {
        return refuse("names another host (//)");
    }
    if path.contains('\\') {
        return refuse("contains a backslash");
    }
    if path.ends_with(' ') {
        return refuse("ends with a space, which a URL drops");
    }
    if path.contains('#') {
        return refuse("contains a fragment (#)");
    }
    if path.chars().any(char::is_control) {
        return refuse("contains a control character (CR, LF, NUL, ...)");
    }
    for segment in path.split('/') {
        let decoded = percent_decode_str(segment).decode_utf8_lossy();
        if matches!(decoded.trim(), "." | "..") {
            return refuse("contains a dot segment");
        }
        if decoded.contains(['/', '\\']) || decoded.chars().any(char::is_control) {
            return refuse("contains an encoded slash, backslash or control character");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! paths {
        ($($name:ident: $path:literal => $ok:literal;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(check_path($path).is_ok(), $ok, "{}", $path);
            }
        )*};
    }

    paths! {
        users_me_is_a_path: "/users/v1/me" => true;
        trailing_slash_is_a_path: "/users/v1/" => true;
        encoded_characters_are_fine: "/data/v1/a%20b/documents" => true;
        dots_inside_names_are_fine: "/files/v1/a..b/x.json" => true;
        absolute_url_is_refused: "https://evil.example/users/v1/me" => false;
        relative_path_is_refused: "users/v1/me" => false;
        scheme_relative_url_is_refused: "//evil.example/users" => false;
        backslash_is_refused: "/\\evil.example" => false;
        dot_dot_is_refused: "/users/../tasks" => false;
        single_dot_is_refused: "/users/./me" => false;
        encoded_dot_dot_is_refused: "/users/%2e%2e/tasks" => false;
        mixed_case_encoded_dot_dot_is_refused: "/users/%2E./tasks" => false;
        encoded_slash_is_refused: "/users/%2f%2fevil" => false;
        encoded_backslash_is_refused: "/users/%5cevil" => false;
        crlf_is_refused: "/users/v1/me\r\nHost: evil" => false;
        encoded_crlf_is_refused: "/users/%0d%0aHost:evil" => false;
        nul_is_refused: "/users/\0" => false;
        fragment_is_refused: "/users/v1/me#x" => false;
        inner_spaces_are_fine: "/data/v1/a b/documents" => true;
        trailing_space_is_refused: "/users/v1/me " => false;
        dot_dot_with_a_trailing_space_is_refused: "/users/v1/me/.. " => false;
        dot_with_a_trailing_space_is_refused: "/users/v1/me/. " => false;
        dot_dot_with_an_encoded_space_is_refused: "/users/v1/me/..%20" => false;
        dot_dot_with_an_encoded_tab_is_refused: "/users/v1/me/%09.." => false;
    }
}
