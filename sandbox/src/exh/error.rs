//! Extra Horizon's error answers: a status and `{"code", "name", "message"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::oauth1_verifier::VerifyError;

/// An Extra Horizon error, answered as its JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExhError {
    status: StatusCode,
    code: u16,
    name: &'static str,
    message: String,
}

impl ExhError {
    fn new(status: StatusCode, code: u16, name: &'static str, message: impl Into<String>) -> Self {
        ExhError {
            status,
            code,
            name,
            message: message.into(),
        }
    }

    /// 404, code 16: no such path, method or record.
    pub(crate) fn resource_unknown() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            16,
            "RESOURCE_UNKNOWN_EXCEPTION",
            "Requested resource is unknown",
        )
    }

    /// 400, code 13: a body was required.
    pub(crate) fn empty_body() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            13,
            "EMPTY_BODY_EXCEPTION",
            "The request body is empty",
        )
    }

    /// 400, code 22: the body could not be read as the endpoint expects.
    pub(crate) fn body_format(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            22,
            "BODY_FORMAT_EXCEPTION",
            format!("The provided body could not be interpreted correctly: {detail}"),
        )
    }

    /// 400, code 19: the RQL is not valid.
    pub(crate) fn invalid_rql(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            19,
            "INVALID_RQL_EXCEPTION",
            format!("Invalid RQL: {detail}"),
        )
    }

    /// 401, code 110: the nonce was used before.
    pub(crate) fn duplicate_request() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            110,
            "DUPLICATE_REQUEST_EXCEPTION",
            "The supplied OAuth 1 parameters were already sent once before. Make sure the timestamp and \
             nonce are new for each request",
        )
    }
}

impl From<&VerifyError> for ExhError {
    fn from(error: &VerifyError) -> Self {
        let unauthorized =
            |code, name, message: String| Self::new(StatusCode::UNAUTHORIZED, code, name, message);
        match error {
            VerifyError::UnknownConsumerKey => {
                unauthorized(107, "OAUTH_KEY_EXCEPTION", "The supplied OAuth 1 consumer key is unknown".into())
            }
            VerifyError::UnknownToken => unauthorized(
                108,
                "OAUTH_TOKEN_EXCEPTION",
                "The supplied OAuth 1 token is unknown (in combination with the consumer key)".into(),
            ),
            VerifyError::SignatureMismatch => unauthorized(
                109,
                "OAUTH_SIGNATURE_EXCEPTION",
                "The supplied OAuth 1 signature did not match the signature calculated by the API. Possibly \
                 the token secret or consumer secret was wrong"
                    .into(),
            ),
            VerifyError::MissingHeader
            | VerifyError::MalformedHeader(_)
            | VerifyError::UnsupportedSignatureMethod(_) => unauthorized(
                109,
                "OAUTH_SIGNATURE_EXCEPTION",
                format!("The request carries no valid OAuth 1 Authorization header: {error}"),
            ),
        }
    }
}

impl IntoResponse for ExhError {
    fn into_response(self) -> Response {
        let body = json!({"code": self.code, "name": self.name, "message": self.message});
        (self.status, Json(body)).into_response()
    }
}
