//! The SDKs' canned responses (`ResponseTemplateManager`), which their
//! clients answer with when the API cannot be reached or answers nonsense.
//!
//! Both SDKs (hexonet.apiconnector 4.0.2, centralnicreseller.apiconnector
//! 6.0.0) have the same templates but for one code (`unauthorized`: 530 in
//! HEXONET's, 500 in CentralNic Reseller's; see [`Template::code_in`]), and
//! neither has a separate translator: the rewrites they apply are these
//! templates, chosen as follows (mirrored by [`Response::from_text`] and
//! [`Response::from_bytes`]):
//!
//! - any exception from `urlopen` (connection refused, DNS, TLS, timeout,
//!   and every HTTP status >= 400, which urllib raises as `HTTPError`) →
//!   [`Template::HttpError`], 421;
//! - an empty text → [`Template::Empty`], 423 (but an empty HTTP *body*
//!   arrives as bytes and becomes [`Template::Invalid`]);
//! - a text without `CODE` or `DESCRIPTION` → [`Template::Invalid`], 423;
//! - `{CONNECTION_URL}` in a text is replaced by the endpoint URL, any
//!   other `{UPPER_CASE}` placeholder is removed.
//!
//! `404`, `500`, `error`, `expired` and `unauthorized` ship with the SDK but
//! its client never picks them; they are here for callers that map their
//! own failures.

use super::protocol::Backend;
use super::protocol::Protocol;
use super::Response;

/// One of the SDK's response templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Template {
    /// `404`: 421 `Page not found`.
    PageNotFound,
    /// `500`: 500 `Internal server error`.
    InternalServerError,
    /// `empty`: 423 `Empty API response. Probably unreachable API end point {CONNECTION_URL}`.
    Empty,
    /// `error`: 421 `Command failed due to server error. Client should try again`.
    Error,
    /// `expired`: 530 `SESSION NOT FOUND`.
    Expired,
    /// `httperror`: 421 `Command failed due to HTTP communication error`.
    HttpError,
    /// `invalid`: 423 `Invalid API response. Contact Support`.
    Invalid,
    /// `unauthorized`: 530 `Unauthorized` (500 in CentralNic Reseller's SDK).
    Unauthorized,
    /// What `getTemplate` answers for an unknown id: 500 `Response Template not found`.
    NotFound,
}

impl Template {
    /// Every template, in the SDK's order, [`Template::NotFound`] last.
    pub const ALL: [Template; 9] = [
        Template::PageNotFound,
        Template::InternalServerError,
        Template::Empty,
        Template::Error,
        Template::Expired,
        Template::HttpError,
        Template::Invalid,
        Template::Unauthorized,
        Template::NotFound,
    ];

    /// The SDK's id (`"404"`, `"httperror"` …); `"notfound"` for [`Template::NotFound`].
    pub fn id(self) -> &'static str {
        self.data().0
    }

    /// The template for an SDK id; [`Template::NotFound`] for an unknown one,
    /// as `getTemplate` does.
    pub fn from_id(id: &str) -> Template {
        Self::ALL
            .into_iter()
            .find(|t| t.id() == id)
            .unwrap_or(Template::NotFound)
    }

    /// The response code in HEXONET's SDK.
    pub fn code(self) -> i64 {
        self.data().1
    }

    /// The response code in `backend`'s SDK.
    ///
    /// # Example
    /// ```
    /// use exh_task::hexonet::{Backend, Template};
    /// assert_eq!(Template::Unauthorized.code_in(Backend::CentralNic), 500);
    /// assert_eq!(Template::HttpError.code_in(Backend::CentralNic), 421);
    /// ```
    pub fn code_in(self, backend: Backend) -> i64 {
        match self {
            Template::Unauthorized => Protocol::of(backend).unauthorized_code,
            _ => self.code(),
        }
    }

    /// The description, placeholders included.
    pub fn description(self) -> &'static str {
        self.data().2
    }

    /// The plain text, as `generateTemplate` writes it.
    pub fn plain(self) -> String {
        format!(
            "[RESPONSE]\r\nCODE={}\r\nDESCRIPTION={}\r\nEOF\r\n",
            self.code(),
            self.description()
        )
    }

    /// The response the SDK's client builds from this template, with
    /// `{CONNECTION_URL}` filled in when a URL is given (removed otherwise).
    ///
    /// # Example
    /// ```
    /// use exh_task::hexonet::Template;
    /// let r = Template::HttpError.response(None);
    /// assert_eq!((r.code(), r.description()), (421, "Command failed due to HTTP communication error"));
    /// ```
    pub fn response(self, connection_url: Option<&str>) -> Response {
        Response::from_text(&self.plain(), connection_url)
    }

    /// The response has this template's code and description
    /// (`isTemplateMatchHash`, placeholders compared as they are).
    pub fn matches(self, response: &Response) -> bool {
        response.attribute("CODE") == Some(self.code().to_string().as_str())
            && response.description() == self.description()
    }

    fn data(self) -> (&'static str, i64, &'static str) {
        match self {
            Template::PageNotFound => ("404", 421, "Page not found"),
            Template::InternalServerError => ("500", 500, "Internal server error"),
            Template::Empty => (
                "empty",
                423,
                "Empty API response. Probably unreachable API end point {CONNECTION_URL}",
            ),
            Template::Error => (
                "error",
                421,
                "Command failed due to server error. Client should try again",
            ),
            Template::Expired => ("expired", 530, "SESSION NOT FOUND"),
            Template::HttpError => (
                "httperror",
                421,
                "Command failed due to HTTP communication error",
            ),
            Template::Invalid => ("invalid", 423, "Invalid API response. Contact Support"),
            Template::Unauthorized => ("unauthorized", 530, "Unauthorized"),
            Template::NotFound => ("notfound", 500, "Response Template not found"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_to_its_code_and_matches_itself() {
        for template in Template::ALL {
            let response = template.response(Some("https://x"));
            assert_eq!(response.code(), template.code(), "{template:?}");
            assert_eq!(Template::from_id(template.id()), template);
            // A `Response` never keeps a placeholder, so `empty` cannot match one.
            let matches = template.matches(&response);
            assert_eq!(matches, template != Template::Empty, "{template:?}");
        }
    }

    #[test]
    fn an_unknown_id_gives_the_not_found_template() {
        assert_eq!(Template::from_id("nocurl"), Template::NotFound);
    }
}
