//! Removes known secret values from text that came from elsewhere.
//!
//! Upstream error messages are quoted in our errors and logs; should a server
//! ever echo a credential back, it is replaced by `***` before anyone sees it.

use crate::secret::Secret;

/// Replaces every occurrence of the given secrets with `***`.
#[derive(Clone, Default)]
pub struct Redactor(Vec<Secret>);

impl Redactor {
    /// A redactor for `secrets`; empty values are ignored.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Self {
        Redactor(
            secrets
                .into_iter()
                .filter(|secret| !secret.expose().is_empty())
                .cloned()
                .collect(),
        )
    }

    /// `text` with every secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        self.0.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret.expose(), "***")
        })
    }
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
}
