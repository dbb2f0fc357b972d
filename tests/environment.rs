//! The configuration read from the process environment itself: a test
//! binary of its own, as it sets the process's variables.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

#[test]
fn a_variable_of_exh_task_that_is_not_utf8_is_an_error_naming_it_not_unset() {
    let fine = exh_task::config::Config::from_env();
    assert!(fine.is_ok(), "{:?}", fine.err());
    for name in [
        "EXH_ALLOWED_PATHS",
        "HEXONET_ALLOWED_COMMANDS",
        "API_OAUTH_TOKEN_SECRET",
    ] {
        std::env::set_var(name, OsStr::from_bytes(b"/users/v1,/data/v1/\xff"));
        let read = exh_task::config::Config::from_env();
        std::env::remove_var(name);
        let error = read.expect_err("a value that is not UTF-8 was read as unset");
        assert_eq!(error.variable, name);
        assert!(error.to_string().contains("not UTF-8"), "{error}");
        assert!(
            !error.to_string().contains("users"),
            "the value is quoted: {error}"
        );
    }
    // Variables of others are not exh-task's to judge.
    std::env::set_var("OTHER_TOOL_SETTING", OsStr::from_bytes(b"\xff"));
    assert!(exh_task::config::Config::from_env().is_ok());
}
