//! Allow-lists that refuse a request before any network call.
//!
//! A task that only needs `CheckDomain` can then never be made to run
//! `DeleteDomain`, whatever event it receives.
//!
//! Over HTTP they are not optional: whoever reaches an API function or a
//! Function URL writes the event, and the event alone decides what is
//! called with the function's credentials. A side without an allow-list
//! therefore refuses every request that came over HTTP ([`Caller::Http`]);
//! `/` (Extra Horizon) or `*` (HEXONET) opens it on purpose.

use crate::error::Error;

/// Who wrote the event, as far as the allow-lists care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Whoever invoked the function (directly, as an Extra Horizon task,
    /// through EventBridge or SQS): they already hold its permissions.
    Invoker,
    /// The caller of an HTTP envelope (Extra Horizon API function, API
    /// Gateway, Function URL): possibly anyone who can reach the URL.
    Http,
}

/// The list that lets every HEXONET command through.
pub const EVERY_COMMAND: &str = "*";
/// The list that lets every Extra Horizon path through.
pub const EVERY_PATH: &str = "/";

/// `HEXONET_ALLOWED_COMMANDS`: command names, compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandAllowList(Vec<String>);

impl CommandAllowList {
    /// Parses a comma separated list; blanks around names are ignored. A
    /// list that names nothing is refused: it could only be a mistake.
    pub fn parse(list: &str) -> Result<Self, String> {
        let names: Vec<String> = list
            .split(',')
            .map(|name| name.trim().to_ascii_lowercase())
            .filter(|name| !name.is_empty())
            .collect();
        if names.is_empty() {
            return Err(format!(
                "{list:?} names no command: list them, or {EVERY_COMMAND} for every one"
            ));
        }
        Ok(CommandAllowList(names))
    }

    /// Whether the list is (or holds) [`EVERY_COMMAND`].
    pub fn allows_everything(&self) -> bool {
        self.0.iter().any(|name| name == EVERY_COMMAND)
    }

    /// Refuses `command` with [`Error::Forbidden`] unless it is listed.
    pub fn check(&self, command: &str) -> Result<(), Error> {
        if self.allows_everything() || self.0.contains(&command.to_ascii_lowercase()) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "HEXONET command {command:?} is not in HEXONET_ALLOWED_COMMANDS"
            )))
        }
    }
}

/// `EXH_ALLOWED_PATHS`: path prefixes, matched on whole segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathAllowList(Vec<String>);

impl PathAllowList {
    /// Parses a comma separated list of prefixes such as `/users/v1/me,/data/v1/`;
    /// a list that names nothing is refused.
    pub fn parse(list: &str) -> Result<Self, String> {
        let prefixes: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|prefix| !prefix.is_empty())
            .map(|prefix| {
                if prefix.starts_with('/') {
                    Ok(prefix.to_owned())
                } else {
                    Err(format!("{prefix:?} is not a path: it must start with /"))
                }
            })
            .collect::<Result<_, _>>()?;
        if prefixes.is_empty() {
            return Err(format!(
                "{list:?} names no path: list prefixes, or {EVERY_PATH} for every one"
            ));
        }
        Ok(PathAllowList(prefixes))
    }

    /// Whether the list holds [`EVERY_PATH`], the prefix of every path.
    pub fn allows_everything(&self) -> bool {
        self.0.iter().any(|prefix| prefix == EVERY_PATH)
    }

    /// Refuses `path` with [`Error::Forbidden`] unless a listed prefix covers it.
    ///
    /// `/users/v1` covers `/users/v1`, `/users/v1/` and `/users/v1/me`, but not
    /// `/users/v10`.
    pub fn check(&self, path: &str) -> Result<(), Error> {
        let covered = self.0.iter().any(|prefix| {
            path.strip_prefix(prefix.as_str()).is_some_and(|rest| {
                rest.is_empty() || prefix.ends_with('/') || rest.starts_with('/')
            })
        });
        if covered {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "Extra Horizon path {path:?} is not under EXH_ALLOWED_PATHS"
            )))
        }
    }
}

/// What an allow-list needs to say when it is missing over HTTP.
pub trait AllowList {
    /// The variable that sets the list.
    const VARIABLE: &'static str;
    /// The entry that lets everything through.
    const EVERY: &'static str;
    /// What the list holds, in a sentence ("the commands it may run").
    const HOLDS: &'static str;
    /// What a request of this side is called ("HEXONET commands").
    const REQUESTS: &'static str;

    /// Refuses `item` with [`Error::Forbidden`] unless the list covers it.
    fn check(&self, item: &str) -> Result<(), Error>;
}

impl AllowList for CommandAllowList {
    const VARIABLE: &'static str = "HEXONET_ALLOWED_COMMANDS";
    const EVERY: &'static str = EVERY_COMMAND;
    const HOLDS: &'static str = "the commands it may run";
    const REQUESTS: &'static str = "HEXONET commands";

    fn check(&self, command: &str) -> Result<(), Error> {
        CommandAllowList::check(self, command)
    }
}

impl AllowList for PathAllowList {
    const VARIABLE: &'static str = "EXH_ALLOWED_PATHS";
    const EVERY: &'static str = EVERY_PATH;
    const HOLDS: &'static str = "the path prefixes it may call";
    const REQUESTS: &'static str = "Extra Horizon requests";

    fn check(&self, path: &str) -> Result<(), Error> {
        PathAllowList::check(self, path)
    }
}

/// Checks `item` (a command name or a path) against `list` for `caller`:
/// without a list, everything goes through for the invoker and nothing
/// over HTTP.
pub fn check<L: AllowList>(list: Option<&L>, caller: Caller, item: &str) -> Result<(), Error> {
    match (list, caller) {
        (Some(list), _) => list.check(item),
        (None, Caller::Invoker) => Ok(()),
        (None, Caller::Http) => Err(Error::Forbidden(format!(
            "{} that arrive over HTTP are refused unless {} is set: set it to {} ({:?} lets everything through)",
            L::REQUESTS,
            L::VARIABLE,
            L::HOLDS,
            L::EVERY,
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_star_lets_every_command_through() {
        let list = CommandAllowList::parse("*").unwrap();
        assert!(list.allows_everything());
        assert!(list.check("DeleteDomain").is_ok());
        assert!(!CommandAllowList::parse("CheckDomain")
            .unwrap()
            .allows_everything());
    }

    #[test]
    fn a_slash_lets_every_path_through() {
        let list = PathAllowList::parse("/").unwrap();
        assert!(list.allows_everything());
        assert!(list.check("/tasks/v1/functions/admin/execute").is_ok());
        assert!(!PathAllowList::parse("/users/v1")
            .unwrap()
            .allows_everything());
    }

    #[test]
    fn without_a_list_the_invoker_may_call_anything() {
        assert!(check::<CommandAllowList>(None, Caller::Invoker, "DeleteDomain").is_ok());
        assert!(check::<PathAllowList>(None, Caller::Invoker, "/tasks/v1/").is_ok());
    }

    #[test]
    fn without_a_list_a_caller_over_http_is_refused_and_told_what_to_set() {
        let error = check::<CommandAllowList>(None, Caller::Http, "StatusAccount").unwrap_err();
        assert_eq!(error.error_type(), "Forbidden");
        assert!(
            error.to_string().contains("HEXONET_ALLOWED_COMMANDS"),
            "{error}"
        );
        let error = check::<PathAllowList>(None, Caller::Http, "/users/v1/me").unwrap_err();
        assert_eq!(error.error_type(), "Forbidden");
        assert!(error.to_string().contains("EXH_ALLOWED_PATHS"), "{error}");
    }

    #[test]
    fn with_a_list_a_caller_over_http_gets_what_it_covers_only() {
        let commands = CommandAllowList::parse("StatusAccount").unwrap();
        assert!(check(Some(&commands), Caller::Http, "statusaccount").is_ok());
        assert!(check(Some(&commands), Caller::Http, "DeleteDomain").is_err());
        let paths = PathAllowList::parse("/users/v1/me").unwrap();
        assert!(check(Some(&paths), Caller::Http, "/users/v1/me").is_ok());
        assert!(check(Some(&paths), Caller::Http, "/users/v1/").is_err());
    }

    #[test]
    fn commands_are_compared_without_case() {
        let list = CommandAllowList::parse("CheckDomain, StatusAccount").unwrap();
        assert!(list.check("checkdomain").is_ok());
        assert!(list.check("STATUSACCOUNT").is_ok());
        assert_eq!(
            list.check("DeleteDomain").unwrap_err().error_type(),
            "Forbidden"
        );
    }

    #[test]
    fn path_prefixes_match_whole_segments() {
        let list = PathAllowList::parse("/users/v1,/data/v1/").unwrap();
        assert!(list.check("/users/v1").is_ok());
        assert!(list.check("/users/v1/me").is_ok());
        assert!(list.check("/data/v1/abc/documents").is_ok());
        assert!(list.check("/users/v10").is_err());
        assert!(list.check("/tasks/v1/").is_err());
    }

    #[test]
    fn a_path_prefix_must_be_a_path() {
        assert!(PathAllowList::parse("users/v1").is_err());
    }

    #[test]
    fn a_list_that_names_nothing_is_refused() {
        for list in [",", " , ", ",,"] {
            assert!(CommandAllowList::parse(list)
                .unwrap_err()
                .contains("names no command"));
            assert!(PathAllowList::parse(list)
                .unwrap_err()
                .contains("names no path"));
        }
    }
}
