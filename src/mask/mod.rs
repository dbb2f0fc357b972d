//! Every mask of exh-task, in one place: what keeps secrets out of errors,
//! logs and results.
//!
//! - [`Redactor`]: removes known secret values from text that came from
//!   elsewhere. Upstream error messages are quoted in our errors and logs;
//!   should a server ever echo a credential back, it is replaced by `***`
//!   before anyone sees it.
//!   Every form counts ([`forms`]): percent-encoded, base64, JSON-escaped.
//! - [`fields`]: JSON fields whose names say secret, masked in debug logs.
//! - [`url`]: URLs as messages quote them, without userinfo or query.
//! - [`authorization`]: the OAuth1 `Authorization` header as the debug log
//!   shows it.
//! - `hexonet` (crate-private): the HEXONET SDK's masks and the debug log's
//!   masks of `call.cgi` requests and responses.
//!
//! Masked text is only built for a log (or `Debug`), never for a call.

pub mod fields;
pub mod forms;
pub(crate) mod hexonet;
pub mod url;

use crate::answer_memory::AnswerMemory;
use crate::error::Error;
use crate::secret::Secret;
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use memchr::memmem::Finder;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::OnceLock;

/// Replaces every occurrence of the given secrets, in every form
/// ([`forms::of`]: as is, percent-encoded, base64, JSON-escaped), with
/// `***`.
///
/// Nothing is worked out until a text is searched: a redactor that only
/// stands by for errors (each client has one) costs a copy of its
/// secrets. The first search works out the forms and a `memchr` `memmem`
/// searcher for each (about a microsecond). Text under
/// [`AUTOMATON_FROM`] bytes (an answer of a few records, an error
/// message) is searched form by form with them; longer text, and every
/// replacement, uses one Aho-Corasick automaton of all forms of all
/// secrets, built the first time it is needed, so asking whether a 6 MB
/// result holds any of them ([`Redactor::finds`]) costs one scan of it.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<Secret>,
    /// The forms, worked out on first use.
    forms: OnceLock<Forms>,
}

/// Text at least this long is searched with the automaton (built then, if
/// it is not yet): below it, one `memmem` search per form costs less than
/// building the automaton (about 40 µs for five secrets, against 1 µs
/// for the searchers) and little more than its scan (0.17 µs against
/// 0.12 µs on a 500-byte answer, fifteen forms).
pub const AUTOMATON_FROM: usize = 64 * 1024;

/// Every form of every secret, and the automaton that finds them all.
#[derive(Clone)]
struct Forms {
    /// Zeroised on drop, as the secrets they come from.
    patterns: Vec<Secret>,
    /// One `memmem` searcher per form, in the same order.
    finders: Vec<Finder<'static>>,
    /// The length of the shortest form: shorter text cannot hold one, and
    /// most keys and values of a result are shorter (no search at all).
    shortest: usize,
    /// Built on first need; `None` when there is nothing to look for.
    automaton: OnceLock<Option<AhoCorasick>>,
}

impl Forms {
    fn of(secrets: &[Secret]) -> Forms {
        let patterns: Vec<Secret> = secrets
            .iter()
            .flat_map(|secret| forms::of(secret.expose()))
            .map(Secret::new)
            .collect();
        let shortest = patterns
            .iter()
            .map(|form| form.expose().len())
            .min()
            .unwrap_or(0);
        let finders = patterns
            .iter()
            .map(|form| Finder::new(form.expose()).into_owned())
            .collect();
        Forms {
            patterns,
            finders,
            shortest,
            automaton: OnceLock::new(),
        }
    }

    fn automaton(&self) -> Option<&AhoCorasick> {
        self.automaton
            .get_or_init(|| {
                (!self.patterns.is_empty()).then(|| {
                    AhoCorasick::builder()
                        // The longest form wins where forms overlap (a secret
                        // and its escaped form), so no piece of one is left
                        // behind.
                        .match_kind(MatchKind::LeftmostLongest)
                        // A third of a DFA's build, and as quick a scan where
                        // no secret is found (the prefilter does the work).
                        .kind(Some(AhoCorasickKind::ContiguousNFA))
                        .build(self.patterns.iter().map(Secret::expose))
                        .expect("literal patterns build")
                })
            })
            .as_ref()
    }

    fn finds(&self, text: &str) -> bool {
        if self.patterns.is_empty() || text.len() < self.shortest {
            return false;
        }
        match self.automaton.get() {
            None if text.len() < AUTOMATON_FROM => self.finds_one_by_one(text),
            _ => self.finds_at_once(text),
        }
    }

    /// One `memmem` search per form.
    fn finds_one_by_one(&self, text: &str) -> bool {
        self.finders
            .iter()
            .any(|finder| finder.find(text.as_bytes()).is_some())
    }

    /// One search of the automaton.
    fn finds_at_once(&self, text: &str) -> bool {
        self.automaton()
            .is_some_and(|automaton| automaton.is_match(text))
    }
}

impl Redactor {
    /// A redactor for `secrets`; empty values are ignored.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Self {
        Redactor {
            secrets: secrets
                .into_iter()
                .filter(|secret| !secret.expose().is_empty())
                .cloned()
                .collect(),
            forms: OnceLock::new(),
        }
    }

    /// This redactor and `more` secrets (a request's one-time password).
    pub fn with<'a>(&'a self, more: impl IntoIterator<Item = &'a Secret>) -> Redactor {
        Redactor::new(self.secrets.iter().chain(more))
    }

    fn forms(&self) -> &Forms {
        self.forms.get_or_init(|| Forms::of(&self.secrets))
    }

    /// Whether `text` holds a form of a secret.
    pub fn finds(&self, text: &str) -> bool {
        self.forms().finds(text)
    }

    /// `text` with every form of every secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let forms = self.forms();
        // Built only for text that holds a secret.
        match forms.finds(text).then(|| forms.automaton()).flatten() {
            Some(automaton) => {
                let mut redacted = String::with_capacity(text.len());
                automaton.replace_all_with(text, &mut redacted, |_, _, out| {
                    out.push_str("***");
                    true
                });
                redacted
            }
            None => text.to_owned(),
        }
    }

    /// `error` with its message redacted.
    pub fn error(&self, error: Error) -> Error {
        error.map_message(|message| self.redact(&message))
    }

    /// `value` with every string (and key) that holds a secret redacted.
    /// A string that is itself JSON (an HTTP envelope's body) is redacted
    /// as JSON and written again, so its text stays valid, if what is left
    /// of the memory the answers share holds it once read (else as text,
    /// secret by secret). A number whose
    /// digits hold a secret (a PIN echoed as a number) becomes the string
    /// `***`.
    pub fn value(&self, value: Value) -> Value {
        match value {
            Value::String(text) if self.finds(&text) => Value::String(self.text_or_json(&text)),
            Value::Number(number) if self.finds(&number.to_string()) => {
                Value::String("***".to_owned())
            }
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|item| self.value(item)).collect())
            }
            Value::Object(fields) => Value::Object(
                fields
                    .into_iter()
                    .map(|(name, value)| {
                        let name = if self.finds(&name) {
                            self.redact(&name)
                        } else {
                            name
                        };
                        (name, self.value(value))
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    /// `text` redacted, as the JSON it is if it is an array or object that
    /// the memory left for answers can hold once read.
    fn text_or_json(&self, text: &str) -> String {
        match AnswerMemory::read(text.as_bytes()) {
            Ok((inner @ (Value::Object(_) | Value::Array(_)), _held)) => {
                self.value(inner).to_string()
            }
            _ => self.redact(text),
        }
    }
}

/// The `Authorization` header with the consumer key, token and signature
/// replaced by `***`, for debug logs.
pub fn authorization(header: &str) -> Cow<'_, str> {
    const SECRET_FIELDS: [&str; 3] = ["oauth_consumer_key", "oauth_token", "oauth_signature"];
    let Some(fields) = header.strip_prefix("OAuth ") else {
        return Cow::Borrowed("***");
    };
    let masked: Vec<String> = fields
        .split(',')
        .map(|field| match field.split_once('=') {
            Some((name, _)) if SECRET_FIELDS.contains(&name.trim()) => format!("{name}=\"***\""),
            _ => field.to_owned(),
        })
        .collect();
    Cow::Owned(format!("OAuth {}", masked.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occurrence_of_every_secret_is_replaced() {
        let (a, b) = (Secret::new("s3cret"), Secret::new("t0ken"));
        let redactor = Redactor::new([&a, &b]);
        assert_eq!(
            redactor.redact("key s3cret and t0ken, again s3cret"),
            "key *** and ***, again ***"
        );
    }

    #[test]
    fn percent_encoded_and_base64_forms_are_replaced_too() {
        let secret = Secret::new("e2e-consumer/secret+9d2a=");
        let redactor = Redactor::new([&secret]);
        let text = "raw e2e-consumer/secret+9d2a= pct e2e-consumer%2Fsecret%2B9d2a%3D \
                    lower e2e-consumer%2fsecret%2b9d2a%3d b64 ZTJlLWNvbnN1bWVyL3NlY3JldCs5ZDJhPQ==";
        let redacted = redactor.redact(text);
        assert_eq!(redacted.matches("***").count(), 4, "{redacted}");
        assert!(!redactor.finds(&redacted));
    }

    #[test]
    fn a_json_body_inside_a_string_stays_json_after_redaction() {
        let secret = Secret::new("tok\"en");
        let redactor = Redactor::new([&secret]);
        let inner = serde_json::json!({"echo": "tok\"en", "n": 1}).to_string();
        let outer = serde_json::json!({"statusCode": 200, "body": inner});
        assert!(redactor.finds(&outer.to_string()));
        let redacted = redactor.value(outer);
        let body: Value = serde_json::from_str(redacted["body"].as_str().unwrap()).unwrap();
        assert_eq!(body, serde_json::json!({"echo": "***", "n": 1}));
    }

    #[test]
    fn a_secret_echoed_as_a_number_is_redacted() {
        let secret = Secret::new("8675309123");
        let redactor = Redactor::new([&secret]);
        let answer = serde_json::json!({"pin": 8675309123u64, "n": 1, "list": [18675309123u64]});
        let redacted = redactor.value(answer);
        assert_eq!(
            redacted,
            serde_json::json!({"pin": "***", "n": 1, "list": ["***"]})
        );
        assert!(!redactor.finds(&redacted.to_string()));
    }

    #[test]
    fn short_and_long_text_are_searched_alike() {
        let secret = Secret::new("e2e-consumer/secret+9d2a=");
        let redactor = Redactor::new([&secret]);
        for length in [10, AUTOMATON_FROM - 100, AUTOMATON_FROM, 3 * AUTOMATON_FROM] {
            let padding = "x".repeat(length);
            for text in [
                format!("{padding}e2e-consumer%2Fsecret%2B9d2a%3D"),
                format!("ZTJlLWNvbnN1bWVyL3NlY3JldCs5ZDJhPQ=={padding}"),
            ] {
                assert!(redactor.finds(&text), "{length}");
                assert!(!redactor.finds(&redactor.redact(&text)), "{length}");
            }
            assert!(!redactor.finds(&padding), "{length}");
        }
    }

    #[test]
    fn a_redactor_without_secrets_finds_nothing() {
        let redactor = Redactor::new([&Secret::new("")]);
        assert!(!redactor.finds("anything"));
        assert_eq!(redactor.redact("anything"), "anything");
    }

    proptest::proptest! {
        /// Both ways of searching give the same answer, whatever the
        /// secrets and text.
        #[test]
        fn form_by_form_and_the_automaton_agree(
            secrets in proptest::collection::vec("[a-c/+= \"%]{1,6}", 1..4),
            pieces in proptest::collection::vec(("[a-c/+= %2FB]{0,8}", 0usize..12), 0..8),
        ) {
            let secrets: Vec<Secret> = secrets.into_iter().map(Secret::new).collect();
            let redactor = Redactor::new(&secrets);
            let forms = redactor.forms();
            let all: Vec<&str> = forms.patterns.iter().map(Secret::expose).collect();
            let text: String = pieces
                .iter()
                .map(|(noise, form)| format!("{noise}{}", all.get(*form).copied().unwrap_or("")))
                .collect();
            proptest::prop_assert_eq!(forms.finds_one_by_one(&text), forms.finds_at_once(&text));
            proptest::prop_assert!(!redactor.finds(&redactor.redact(&text)) || text.is_empty());
        }
    }

    #[test]
    fn an_error_keeps_its_type_and_loses_the_secret() {
        let secret = Secret::new("123456");
        let error = Redactor::new([&secret]).error(Error::Transport("s_otp=123456 refused".into()));
        assert_eq!(error, Error::Transport("s_otp=*** refused".into()));
    }

    #[test]
    fn masking_hides_key_token_and_signature_but_keeps_the_nonce() {
        let header = r#"OAuth oauth_consumer_key="key",oauth_nonce="n0nce",oauth_signature="c2ln%3D",oauth_signature_method="HMAC-SHA1",oauth_timestamp="1600000000",oauth_token="token",oauth_version="1.0""#;
        let masked = authorization(header);
        assert!(!masked.contains("\"key\""));
        assert!(!masked.contains("\"token\""));
        assert!(masked.contains("oauth_signature=\"***\""));
        assert!(!masked.contains("c2ln"));
        assert!(masked.contains("oauth_nonce=\"n0nce\""));
    }
}
