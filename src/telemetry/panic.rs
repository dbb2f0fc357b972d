//! Panics as log lines. A task's panic message may quote its event, or a
//! secret: Rust's own hook writes it raw to stderr, where a newline in it
//! starts a line of its own. Here it is one `ERROR` line through the log
//! subscriber (escaped as every field is), with every configured secret
//! masked. The runtime loop answers the invocation with `InvalidResponse`.

use crate::mask::Redactor;

/// From now on, logs every panic as one `ERROR` line, masking what
/// `redactor` knows.
pub fn log_panics(redactor: Redactor) {
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("a panic without a message");
        let location = info
            .location()
            .map(|at| format!("{}:{}", at.file(), at.line()))
            .unwrap_or_default();
        tracing::error!(
            panic = %redactor.redact(message),
            location,
            "the function panicked"
        );
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn a_panic_is_one_log_line_with_its_secrets_masked() {
        let (lines, writer) = std::io::pipe().unwrap();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(std::sync::Arc::new(writer))
            .with_ansi(false)
            .finish();
        let secret = Secret::new("pan1c-s3cret");
        let caught = tracing::subscriber::with_default(subscriber, || {
            log_panics(Redactor::new([&secret]));
            let caught = std::panic::catch_unwind(|| panic!("document pan1c-s3cret\nFORGED line"));
            let _ = std::panic::take_hook();
            caught
        });
        assert!(caught.is_err());
        let mut text = String::new();
        std::io::Read::read_to_string(&mut { lines }, &mut text).unwrap();
        assert!(!text.contains("pan1c-s3cret"), "{text}");
        assert!(text.contains("the function panicked"), "{text}");
        assert!(text.contains("document ***"), "{text}");
    }
}
