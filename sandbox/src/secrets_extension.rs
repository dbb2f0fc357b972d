//! An emulation of the AWS Parameters and Secrets Lambda Extension's
//! Secrets Manager endpoint, on loopback, for end-to-end tests of reading a
//! secret at start-up.
//!
//! # What it emulates
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /secretsmanager/get?secretId=ID` with `X-Aws-Parameters-Secrets-Token: TOKEN` | `200` and the `GetSecretValue` result (`ARN`, `Name`, `SecretString`, `VersionId`, `VersionStages`, `CreatedDate`) |
//! | a wrong or missing token | `401` |
//! | no `secretId` | `400` |
//! | an ID that is not stored | `400 {"__type": "ResourceNotFoundException", "message": …}`, as Secrets Manager's error is relayed |
//! | an ID stored with [`Stored::Denied`] | `400 {"__type": "AccessDeniedException", …}` |
//! | any request while [`SecretsExtension::not_ready_for`] counts down | `400` `not ready to serve traffic, please wait`, as the extension answers while it starts |
//!
//! Every request is recorded ([`SecretsExtension::requests`]) so a test can
//! check what was sent, and that nothing but the token came with it.
//! [`SecretsExtension::set_fault`] makes it answer as a broken or hostile
//! extension would (huge, endless or dripping bodies, resets, redirects,
//! garbage: see [`fault`](crate::fault)); a faulted request is recorded
//! only when the fault passes it on.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::fault::{self, Fault, FaultSwitch};
use crate::lock;

/// The header the extension reads the session token from.
pub const TOKEN_HEADER: &str = "X-Aws-Parameters-Secrets-Token";

/// What the emulation holds under a secret ID.
#[derive(Clone, Debug)]
pub enum Stored {
    /// A secret whose `SecretString` is this text.
    Text(String),
    /// A binary secret (`SecretBinary`, no `SecretString`).
    Binary,
    /// A secret the function's role may not read.
    Denied,
}

/// One request the emulation received.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The path and query, as sent.
    pub uri: String,
    /// The names of every header sent, lower case.
    pub header_names: Vec<String>,
    /// Whether the token header carried the expected token.
    pub token_ok: bool,
}

#[derive(Default)]
struct Inner {
    secrets: HashMap<String, Stored>,
    not_ready: usize,
    seen: Vec<Seen>,
}

#[derive(Clone)]
struct Shared {
    token: Arc<str>,
    inner: Arc<Mutex<Inner>>,
}

/// A running emulation; dropping it stops the server.
pub struct SecretsExtension {
    addr: SocketAddr,
    shared: Shared,
    fault: FaultSwitch,
    shutdown: Option<oneshot::Sender<()>>,
}

impl SecretsExtension {
    /// Serves on `127.0.0.1:<free port>`, accepting `token` only.
    ///
    /// # Errors
    /// Fails when no port can be bound.
    pub async fn start(token: impl Into<String>) -> io::Result<SecretsExtension> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Shared {
            token: token.into().into(),
            inner: Arc::default(),
        };
        let fault = FaultSwitch::default();
        let app = Router::new()
            .route("/secretsmanager/get", get(get_secret))
            .with_state(shared.clone());
        let app = fault::layer(app, fault.clone());
        let (shutdown, signal) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = signal.await;
                })
                .await
        });
        Ok(SecretsExtension {
            addr,
            shared,
            fault,
            shutdown: Some(shutdown),
        })
    }

    /// The port, for `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Stores `stored` under `id` (an ARN or a name: both are looked up as given).
    pub fn put(&self, id: impl Into<String>, stored: Stored) {
        lock(&self.shared.inner).secrets.insert(id.into(), stored);
    }

    /// Answers the next `count` requests as a starting extension does.
    pub fn not_ready_for(&self, count: usize) {
        lock(&self.shared.inner).not_ready = count;
    }

    /// Puts `fault` in force for the requests from now on (`None`: answer
    /// as usual).
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.fault.set(fault);
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Seen> {
        lock(&self.shared.inner).seen.clone()
    }
}

impl Drop for SecretsExtension {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

async fn get_secret(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let token_ok = headers
        .get(TOKEN_HEADER)
        .is_some_and(|token| token.as_bytes() == shared.token.as_bytes());
    let mut inner = lock(&shared.inner);
    inner.seen.push(Seen {
        uri: uri.to_string(),
        header_names: headers
            .keys()
            .map(|name| name.as_str().to_owned())
            .collect(),
        token_ok,
    });
    if inner.not_ready > 0 {
        inner.not_ready -= 1;
        return (
            StatusCode::BAD_REQUEST,
            "not ready to serve traffic, please wait",
        )
            .into_response();
    }
    if !token_ok {
        return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    }
    let Some(id) = query.get("secretId") else {
        return (StatusCode::BAD_REQUEST, "secretId is required").into_response();
    };
    let aws_error = |code: &str, message: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"__type": code, "message": message})),
        )
            .into_response()
    };
    let arn = format!("arn:aws:secretsmanager:eu-west-1:123456789012:secret:{id}-AbCdEf");
    let mut answer = json!({
        "ARN": arn,
        "Name": id,
        "VersionId": "00000000-0000-4000-8000-000000000000",
        "VersionStages": ["AWSCURRENT"],
        "CreatedDate": "2026-01-01T00:00:00.000Z",
    });
    match inner.secrets.get(id) {
        None => aws_error(
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.",
        ),
        Some(Stored::Denied) => aws_error(
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/exh-task/exh-task is not authorized \
             to perform: secretsmanager:GetSecretValue",
        ),
        Some(Stored::Binary) => {
            answer["SecretBinary"] = json!("AAEC");
            Json(answer).into_response()
        }
        Some(Stored::Text(text)) => {
            answer["SecretString"] = json!(text);
            Json(answer).into_response()
        }
    }
}
