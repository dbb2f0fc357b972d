//! Assertions about HEXONET failures shared by the client and sandbox tests.

/// Fails unless `error` is a `Transport` failure carrying the SDK's 421
/// template: what users of the SDK see when HEXONET cannot be reached.
#[track_caller]
pub fn assert_sdk_421(error: &exh_task::Error) {
    assert_eq!(error.error_type(), "Transport", "{error}");
    assert!(
        error
            .to_string()
            .contains("421 Command failed due to HTTP communication error"),
        "{error}"
    );
}
