//! The Extra Horizon emulation: users and one data-service schema behind
//! real OAuth1 verification, answering with Extra Horizon's bodies.
//!
//! # Routes
//! | method | path | answer |
//! | --- | --- | --- |
//! | GET | `/users/v1/me` | the token's user |
//! | GET | `/users/v1/` (or without `/`) | users, paged, RQL after `?` |
//! | GET | `/users/v1/{id}` | one user |
//! | GET | `/data/v1/{schema}/documents` | documents, paged, RQL after `?` |
//! | POST | `/data/v1/{schema}/documents` | a new document holding the JSON body as its `data` |
//! | GET | `/data/v1/{schema}/documents/{id}` | one document |
//! | PUT | `/data/v1/{schema}/documents/{id}` | merges the JSON body into `data`: `{"affectedRecords": 1}` |
//! | DELETE | `/data/v1/{schema}/documents/{id}` | `{"affectedRecords": 1}` |
//!
//! `{schema}` is a seeded schema's id or its name: `blood-pressure`, or
//! `domain-checks` (one document, [`DOMAIN_CHECKS_DOCUMENT`], listing the
//! domains the example task checks).
//! Anything else is 404 with code 16 `RESOURCE_UNKNOWN_EXCEPTION`.

mod auth;
mod error;
mod nonces;
mod rql;
mod seed;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::middleware;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use self::error::ExhError;
use self::nonces::NonceStore;
use self::seed::Data;
use super::lock;
use super::oauth1_verifier::{Credentials, Verified};
use super::record::Recorder;

pub use self::seed::{
    DOCUMENT_COUNT, DOMAIN_CHECKS_DOCUMENT, DOMAIN_CHECKS_DOMAINS, DOMAIN_CHECKS_SCHEMA,
    SCHEMA_NAME, USER_COUNT,
};

/// The sandbox's fixed, public, fake OAuth1 credentials.
pub const CREDENTIALS: Credentials<'static> = Credentials {
    consumer_key: "sandbox-consumer-key",
    consumer_secret: "sandbox-consumer-secret",
    token: "sandbox-token",
    token_secret: "sandbox-token-secret",
};

/// Shared state of the emulation: seeded data, seen nonces, the request log.
/// Clones share it.
#[derive(Clone, Debug)]
pub struct ExhState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    recorder: Recorder,
    nonces: Mutex<NonceStore>,
    data: Mutex<Data>,
}

impl ExhState {
    /// Freshly seeded data that records requests into `recorder`.
    pub fn new(recorder: Recorder) -> Self {
        ExhState(Arc::new(Inner {
            recorder,
            nonces: Mutex::default(),
            data: Mutex::new(Data::seed()),
        }))
    }

    /// The id of the seeded data-service schema.
    pub fn schema_id(&self) -> String {
        self.data().schema_id.clone()
    }

    /// The id of the user the sandbox token belongs to.
    pub fn my_user_id(&self) -> String {
        self.data().me()["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn credentials(&self) -> &Credentials<'static> {
        &CREDENTIALS
    }

    fn recorder(&self) -> &Recorder {
        &self.0.recorder
    }

    fn first_use_of_nonce(&self, verified: &Verified) -> bool {
        lock(&self.0.nonces).first_use(&verified.consumer_key, &verified.nonce)
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        lock(&self.0.data)
    }
}

/// The Extra Horizon routes, every one behind OAuth1 verification.
pub fn app(state: ExhState) -> Router {
    let documents = "/data/v1/{schema}/documents";
    Router::new()
        .route("/users/v1/me", get(me))
        .route("/users/v1/", get(list_users))
        .route("/users/v1", get(list_users))
        .route("/users/v1/{id}", get(user))
        .route(documents, get(list_documents).post(create_document))
        .route(
            &format!("{documents}/"),
            get(list_documents).post(create_document),
        )
        .route(
            &format!("{documents}/{{id}}"),
            get(document).put(update_document).delete(delete_document),
        )
        .fallback(unknown)
        .method_not_allowed_fallback(unknown)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .with_state(state)
}

type Answer = Result<Json<Value>, ExhError>;

async fn unknown() -> ExhError {
    ExhError::resource_unknown()
}

async fn me(State(state): State<ExhState>) -> Json<Value> {
    Json(state.data().me().clone())
}

async fn list_users(State(state): State<ExhState>, RawQuery(query): RawQuery) -> Answer {
    list(&state.data().users, query)
}

async fn user(State(state): State<ExhState>, Path(id): Path<String>) -> Answer {
    find(&state.data().users, &id).map(|user| Json(user.clone()))
}

async fn list_documents(
    State(state): State<ExhState>,
    Path(schema): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    let mut data = state.data();
    list(documents_of(&mut data, &schema)?, query)
}

async fn create_document(
    State(state): State<ExhState>,
    Path(schema): Path<String>,
    body: Bytes,
) -> Answer {
    let fields = json_object(&body)?;
    let mut data = state.data();
    documents_of(&mut data, &schema)?;
    let created = data.new_document(fields);
    documents_of(&mut data, &schema)?.push(created.clone());
    Ok(Json(created))
}

async fn document(
    State(state): State<ExhState>,
    Path((schema, id)): Path<(String, String)>,
) -> Answer {
    let mut data = state.data();
    find(documents_of(&mut data, &schema)?, &id).map(|document| Json(document.clone()))
}

async fn update_document(
    State(state): State<ExhState>,
    Path((schema, id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let fields = json_object(&body)?;
    let mut data = state.data();
    let document = documents_of(&mut data, &schema)?
        .iter_mut()
        .find(|d| d["id"] == id.as_str())
        .ok_or_else(ExhError::resource_unknown)?;
    if let Some(Value::Object(existing)) = document.get_mut("data") {
        existing.extend(fields);
    }
    Ok(affected_one())
}

async fn delete_document(
    State(state): State<ExhState>,
    Path((schema, id)): Path<(String, String)>,
) -> Answer {
    let mut data = state.data();
    let documents = documents_of(&mut data, &schema)?;
    let index = documents
        .iter()
        .position(|d| d["id"] == id.as_str())
        .ok_or_else(ExhError::resource_unknown)?;
    documents.remove(index);
    Ok(affected_one())
}

fn affected_one() -> Json<Value> {
    Json(json!({"affectedRecords": 1}))
}

/// The documents of a seeded schema, or 404 code 16 for any other.
fn documents_of<'a>(data: &'a mut Data, schema: &str) -> Result<&'a mut Vec<Value>, ExhError> {
    data.documents_of(schema)
        .ok_or_else(ExhError::resource_unknown)
}

fn list(items: &[Value], raw_query: Option<String>) -> Answer {
    let query =
        rql::parse(raw_query.as_deref().unwrap_or_default()).map_err(ExhError::invalid_rql)?;
    Ok(Json(query.apply(items)))
}

fn find<'a>(items: &'a [Value], id: &str) -> Result<&'a Value, ExhError> {
    items
        .iter()
        .find(|item| item["id"] == id)
        .ok_or_else(ExhError::resource_unknown)
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, ExhError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ExhError::empty_body());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(ExhError::body_format("the body must be a JSON object")),
        Err(error) => Err(ExhError::body_format(error)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use axum::body::Body;
    use axum::http::{Request, Response, StatusCode};
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    use sha1::Sha1;
    use tower::ServiceExt as _;

    use super::*;
    use crate::oauth1_verifier::{base_string, encode, signing_key, RequestParts, VerifyError};
    use crate::record::Verdict;

    const HOST: &str = "127.0.0.1:4000";

    /// What a client signs with; differs from [`CREDENTIALS`] to provoke errors.
    #[derive(Clone, Copy)]
    struct Client {
        credentials: Credentials<'static>,
        nonce: Option<&'static str>,
    }

    const CLIENT: Client = Client {
        credentials: CREDENTIALS,
        nonce: None,
    };

    /// A request signed by `client`, built with the verifier's own base string:
    /// the independent client is the Python conformance test's job.
    fn signed(
        client: Client,
        method: &str,
        host: &str,
        target: &str,
        json: Option<&str>,
    ) -> Request<Body> {
        static NONCE: AtomicU32 = AtomicU32::new(0);
        let nonce = client.nonce.map_or_else(
            || format!("n{}", NONCE.fetch_add(1, Ordering::Relaxed)),
            str::to_owned,
        );
        let c = client.credentials;
        let params = format!(
            "oauth_consumer_key=\"{}\", oauth_nonce=\"{nonce}\", oauth_signature_method=\"HMAC-SHA1\", \
             oauth_timestamp=\"1700000000\", oauth_token=\"{}\", oauth_version=\"1.0\"",
            encode(c.consumer_key.as_bytes()),
            encode(c.token.as_bytes())
        );
        let unsigned = format!("OAuth {params}");
        let parts = RequestParts {
            method,
            scheme: "http",
            host,
            target,
            authorization: Some(&unsigned),
            content_type: json.map(|_| "application/json"),
            body: json.unwrap_or_default().as_bytes(),
        };
        let mut mac =
            Hmac::<Sha1>::new_from_slice(signing_key(c.consumer_secret, c.token_secret).as_bytes())
                .unwrap();
        mac.update(base_string(&parts).unwrap().as_bytes());
        let signature =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let authorization = format!(
            "{unsigned}, oauth_signature=\"{}\"",
            encode(signature.as_bytes())
        );
        let mut request = Request::builder()
            .method(method)
            .uri(target)
            .header("host", host)
            .header("authorization", authorization);
        if json.is_some() {
            request = request.header("content-type", "application/json");
        }
        request
            .body(Body::from(json.unwrap_or_default().to_owned()))
            .unwrap()
    }

    async fn send(state: &ExhState, request: Request<Body>) -> (StatusCode, Value) {
        let response: Response<Body> = app(state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    async fn call(
        state: &ExhState,
        method: &str,
        target: &str,
        json: Option<&str>,
    ) -> (StatusCode, Value) {
        send(state, signed(CLIENT, method, HOST, target, json)).await
    }

    fn state() -> ExhState {
        ExhState::new(Recorder::default())
    }

    fn assert_error(answer: (StatusCode, Value), status: StatusCode, code: u16, name: &str) {
        assert_eq!(answer.0, status, "{}", answer.1);
        assert_eq!(
            (answer.1["code"].as_u64(), answer.1["name"].as_str()),
            (Some(u64::from(code)), Some(name))
        );
        assert!(answer.1["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    /// The 404 Extra Horizon answers for an id, schema or path it does not know.
    fn assert_resource_unknown(answer: (StatusCode, Value)) {
        assert_error(
            answer,
            StatusCode::NOT_FOUND,
            16,
            "RESOURCE_UNKNOWN_EXCEPTION",
        );
    }

    #[tokio::test]
    async fn me_is_the_token_user() {
        let state = state();
        let (status, me) = call(&state, "GET", "/users/v1/me", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["id"], state.my_user_id());
        for field in [
            "firstName",
            "lastName",
            "email",
            "language",
            "timeZone",
            "roles",
            "creationTimestamp",
            "updateTimestamp",
        ] {
            assert!(me.get(field).is_some(), "{field} is missing");
        }
    }

    #[tokio::test]
    async fn localhost_host_header_is_served() {
        let (status, _) = send(
            &state(),
            signed(CLIENT, "GET", "localhost:4000", "/users/v1/me", None),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }

    /// One test per `Authorization` header (or none) that carries no
    /// signature to check: each is refused with 109.
    macro_rules! unsigned_is_refused_with_109 {
        ($($name:ident: $authorization:expr,)*) => {$(
            #[tokio::test]
            async fn $name() {
                let authorization: Option<&[u8]> = $authorization;
                let mut request = Request::get("/users/v1/me").header("host", HOST);
                if let Some(header) = authorization {
                    request = request.header("authorization", header);
                }
                assert_error(
                    send(&state(), request.body(Body::empty()).unwrap()).await,
                    StatusCode::UNAUTHORIZED,
                    109,
                    "OAUTH_SIGNATURE_EXCEPTION",
                );
            }
        )*};
    }

    unsigned_is_refused_with_109! {
        unsigned_request_is_refused_with_109: None,
        header_with_an_empty_parameter_name_is_refused_with_109: Some(b"OAuth ,=\"\""),
        header_with_a_non_utf8_nonce_is_refused_with_109: Some(b"OAuth oauth_nonce=\"\xff\""),
        header_without_parameters_is_refused_with_109: Some(b"OAuth x"),
    }

    /// One test per credential the client signs with that the sandbox does
    /// not hold (`"other"` instead of [`CREDENTIALS`]'s): each is refused
    /// with its own Extra Horizon error.
    macro_rules! other_credential_is_refused {
        ($($name:ident: $field:ident => $code:literal $error:literal,)*) => {$(
            #[tokio::test]
            async fn $name() {
                let client = Client {
                    credentials: Credentials {
                        $field: "other",
                        ..CREDENTIALS
                    },
                    nonce: None,
                };
                let answer = send(&state(), signed(client, "GET", HOST, "/users/v1/me", None)).await;
                assert_error(answer, StatusCode::UNAUTHORIZED, $code, $error);
            }
        )*};
    }

    other_credential_is_refused! {
        unknown_consumer_key_is_refused_with_107: consumer_key => 107 "OAUTH_KEY_EXCEPTION",
        unknown_token_is_refused_with_108: token => 108 "OAUTH_TOKEN_EXCEPTION",
        wrong_secret_is_refused_with_109: consumer_secret => 109 "OAUTH_SIGNATURE_EXCEPTION",
        wrong_token_secret_is_refused_with_109: token_secret => 109 "OAUTH_SIGNATURE_EXCEPTION",
    }

    #[tokio::test]
    async fn replayed_nonce_is_refused_with_110() {
        let state = state();
        let client = Client {
            nonce: Some("once"),
            ..CLIENT
        };
        assert_eq!(
            send(&state, signed(client, "GET", HOST, "/users/v1/me", None))
                .await
                .0,
            StatusCode::OK
        );
        let answer = send(&state, signed(client, "GET", HOST, "/users/v1/", None)).await;
        assert_error(
            answer,
            StatusCode::UNAUTHORIZED,
            110,
            "DUPLICATE_REQUEST_EXCEPTION",
        );
    }

    #[tokio::test]
    async fn every_request_is_recorded_with_its_verdict() {
        let recorder = Recorder::default();
        let state = ExhState::new(recorder.clone());
        call(
            &state,
            "POST",
            "/data/v1/blood-pressure/documents?x=1",
            Some("{\"a\":1}"),
        )
        .await;
        let unsigned = Request::get("/nowhere")
            .header("host", HOST)
            .body(Body::empty())
            .unwrap();
        send(&state, unsigned).await;
        let [signed, unsigned] = <[_; 2]>::try_from(recorder.requests()).unwrap();
        assert_eq!(
            (
                signed.method.as_str(),
                signed.target.as_str(),
                signed.host.as_deref(),
                signed.content_type.as_deref()
            ),
            (
                "POST",
                "/data/v1/blood-pressure/documents?x=1",
                Some(HOST),
                Some("application/json")
            )
        );
        assert_eq!(
            (signed.body.as_slice(), signed.verdict, signed.status),
            (&b"{\"a\":1}"[..], Verdict::Valid, 200)
        );
        assert!(signed.authorization.unwrap().starts_with("OAuth "));
        assert_eq!(
            (unsigned.verdict, unsigned.status),
            (Verdict::Invalid(VerifyError::MissingHeader), 401)
        );
    }

    #[tokio::test]
    async fn users_list_pages_twenty_by_default() {
        let (status, list) = call(&state(), "GET", "/users/v1/", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            list["page"],
            json!({"total": USER_COUNT, "offset": 0, "limit": 20})
        );
        assert_eq!(list["data"].as_array().unwrap().len(), 20);
    }

    #[tokio::test]
    async fn users_list_takes_rql_after_the_question_mark() {
        let (status, list) = call(
            &state(),
            "GET",
            "/users/v1/?select(id,email)&limit(10,20)",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            list["page"],
            json!({"total": USER_COUNT, "offset": 20, "limit": 10})
        );
        let data = list["data"].as_array().unwrap();
        assert_eq!(data.len(), 10);
        // Key order is serde_json's (`preserve_order`), not part of the contract.
        assert!(data.iter().all(|user| {
            let mut keys: Vec<&String> = user.as_object().unwrap().keys().collect();
            keys.sort();
            keys == ["email", "id"]
        }));
    }

    #[tokio::test]
    async fn users_list_limit_is_at_most_fifty() {
        let (_, list) = call(&state(), "GET", "/users/v1?limit(500)", None).await;
        assert_eq!(list["page"]["limit"], 50);
    }

    #[tokio::test]
    async fn users_list_filters_and_sorts() {
        let (_, list) = call(
            &state(),
            "GET",
            "/users/v1/?eq(email,sam.sandbox%40example.com)&sort(-creationTimestamp)",
            None,
        )
        .await;
        assert_eq!(list["page"]["total"], 1);
        assert_eq!(list["data"][0]["lastName"], "Sandbox");
    }

    #[tokio::test]
    async fn invalid_rql_is_400_with_19() {
        assert_error(
            call(&state(), "GET", "/users/v1/?limit(x)", None).await,
            StatusCode::BAD_REQUEST,
            19,
            "INVALID_RQL_EXCEPTION",
        );
    }

    #[tokio::test]
    async fn user_by_id_or_404() {
        let state = state();
        let (_, list) = call(&state, "GET", "/users/v1/?limit(1,5)", None).await;
        let id = list["data"][0]["id"].as_str().unwrap();
        let (status, user) = call(&state, "GET", &format!("/users/v1/{id}"), None).await;
        assert_eq!((status, &user), (StatusCode::OK, &list["data"][0]));
        let answer = call(&state, "GET", "/users/v1/000000000000000000000000", None).await;
        assert_resource_unknown(answer);
    }

    #[tokio::test]
    async fn documents_are_created_read_updated_and_deleted() {
        let state = state();
        let base = format!("/data/v1/{}/documents", state.schema_id());
        let (_, list) = call(&state, "GET", &base, None).await;
        assert_eq!(list["page"]["total"], DOCUMENT_COUNT);

        let (status, created) = call(
            &state,
            "POST",
            &base,
            Some(r#"{"systolic": 120, "note": "é"}"#),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(created["data"], json!({"systolic": 120, "note": "é"}));
        assert_eq!(created["creatorId"], state.my_user_id());
        let one = format!("{base}/{}", created["id"].as_str().unwrap());
        assert_eq!(
            call(&state, "GET", &one, None).await,
            (StatusCode::OK, created.clone())
        );

        let updated = call(
            &state,
            "PUT",
            &one,
            Some(r#"{"systolic": 125, "diastolic": 80}"#),
        )
        .await;
        assert_eq!(updated, (StatusCode::OK, json!({"affectedRecords": 1})));
        let (_, read) = call(&state, "GET", &one, None).await;
        assert_eq!(
            read["data"],
            json!({"systolic": 125, "diastolic": 80, "note": "é"})
        );

        assert_eq!(
            call(&state, "DELETE", &one, None).await,
            (StatusCode::OK, json!({"affectedRecords": 1}))
        );
        assert_resource_unknown(call(&state, "GET", &one, None).await);
        assert_resource_unknown(call(&state, "DELETE", &one, None).await);
    }

    #[tokio::test]
    async fn schema_is_found_by_name_and_unknown_schema_is_404() {
        let state = state();
        let (status, list) = call(
            &state,
            "GET",
            "/data/v1/blood-pressure/documents?limit(5)",
            None,
        )
        .await;
        assert_eq!(
            (status, list["data"].as_array().unwrap().len()),
            (StatusCode::OK, 5)
        );
        let answer = call(&state, "GET", "/data/v1/other/documents", None).await;
        assert_resource_unknown(answer);
    }

    #[tokio::test]
    async fn the_domain_checks_schema_holds_one_document_listing_domains() {
        let state = state();
        let one = format!("/data/v1/{DOMAIN_CHECKS_SCHEMA}/documents/{DOMAIN_CHECKS_DOCUMENT}");
        let (status, document) = call(&state, "GET", &one, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(document["data"]["domains"], json!(DOMAIN_CHECKS_DOMAINS));
        let (_, list) = call(&state, "GET", "/data/v1/domain-checks/documents", None).await;
        assert_eq!(list["page"]["total"], 1);
        let (_, blood_pressure) =
            call(&state, "GET", "/data/v1/blood-pressure/documents", None).await;
        assert_eq!(blood_pressure["page"]["total"], DOCUMENT_COUNT);
    }

    #[tokio::test]
    async fn malformed_json_is_400() {
        let state = state();
        let base = "/data/v1/blood-pressure/documents";
        assert_error(
            call(&state, "POST", base, Some("{\"a\":")).await,
            StatusCode::BAD_REQUEST,
            22,
            "BODY_FORMAT_EXCEPTION",
        );
        assert_error(
            call(&state, "POST", base, Some("[1]")).await,
            StatusCode::BAD_REQUEST,
            22,
            "BODY_FORMAT_EXCEPTION",
        );
        assert_error(
            call(&state, "POST", base, Some("")).await,
            StatusCode::BAD_REQUEST,
            13,
            "EMPTY_BODY_EXCEPTION",
        );
    }

    #[tokio::test]
    async fn unknown_path_and_method_are_404_with_16() {
        let state = state();
        for (method, target) in [
            ("GET", "/nowhere"),
            ("GET", "/users/v2/me"),
            ("DELETE", "/users/v1/me"),
        ] {
            assert_resource_unknown(call(&state, method, target, None).await);
        }
    }

    #[tokio::test]
    async fn unknown_path_still_requires_a_signature() {
        let request = Request::get("/nowhere")
            .header("host", HOST)
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&state(), request).await.0, StatusCode::UNAUTHORIZED);
    }
}
