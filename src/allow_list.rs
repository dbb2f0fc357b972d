//! Allow-lists that refuse a request before any network call.
//!
//! A task that only needs `CheckDomain` can then never be made to run
//! `DeleteDomain`, whatever event it receives.

use crate::error::Error;

/// `HEXONET_ALLOWED_COMMANDS`: command names, compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandAllowList(Vec<String>);

impl CommandAllowList {
    /// Parses a comma separated list; blanks around names are ignored.
    pub fn parse(list: &str) -> Self {
        CommandAllowList(
            list.split(',')
                .map(|name| name.trim().to_ascii_lowercase())
                .filter(|name| !name.is_empty())
                .collect(),
        )
    }

    /// Refuses `command` with [`Error::Forbidden`] unless it is listed.
    pub fn check(&self, command: &str) -> Result<(), Error> {
        if self.0.contains(&command.to_ascii_lowercase()) {
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
    /// Parses a comma separated list of prefixes such as `/users/v1/me,/data/v1/`.
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
        Ok(PathAllowList(prefixes))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_compared_without_case() {
        let list = CommandAllowList::parse("CheckDomain, StatusAccount");
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
}
