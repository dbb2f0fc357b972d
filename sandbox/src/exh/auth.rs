//! The middleware in front of every Extra Horizon route: it checks the OAuth1
//! signature and the nonce, and records the request with the verdict.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ExhError;
use super::ExhState;
use crate::oauth1_verifier::{verify, RequestParts, Verified, VerifyError};
use crate::record::{host, target, RecordedRequest, Verdict};

/// Largest request body the sandbox reads.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Answers 401 unless the request is signed with the sandbox credentials and
/// its nonce is new; records every request either way.
pub(super) async fn authenticate(
    State(state): State<ExhState>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let mut record = RecordedRequest::received(&parts);
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        let response =
            ExhError::body_format("the body is unreadable or larger than 8 MiB").into_response();
        record.status = response.status().as_u16();
        state.recorder().record(record);
        return response;
    };
    let verdict = check_signature(&state, &parts, &body);
    let refusal = match &verdict {
        Err(error) => Some(ExhError::from(error)),
        Ok(verified) if !state.first_use_of_nonce(verified) => Some(ExhError::duplicate_request()),
        Ok(_) => None,
    };
    let response = match refusal {
        Some(error) => error.into_response(),
        None => {
            next.run(Request::from_parts(parts, Body::from(body.clone())))
                .await
        }
    };
    record.body = body.to_vec();
    record.verdict = verdict.map_or_else(Verdict::Invalid, |_| Verdict::Valid);
    record.status = response.status().as_u16();
    state.recorder().record(record);
    response
}

fn check_signature(state: &ExhState, parts: &Parts, body: &Bytes) -> Result<Verified, VerifyError> {
    let authorization = match parts.headers.get(AUTHORIZATION).map(|value| value.to_str()) {
        Some(Err(_)) => {
            return Err(VerifyError::MalformedHeader(
                "the header is not visible ASCII".into(),
            ))
        }
        Some(Ok(value)) => Some(value),
        None => None,
    };
    let request = RequestParts {
        method: parts.method.as_str(),
        // The sandbox serves plain HTTP only.
        scheme: "http",
        host: host(parts).unwrap_or_default(),
        target: target(parts),
        authorization,
        content_type: parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok()),
        body,
    };
    verify(&request, state.credentials())
}
