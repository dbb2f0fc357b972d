//! check-domains: an Extra Horizon task written with exh-task, to copy.
//!
//! A data-service `task` action starts it with `data.documentId`; it
//! fetches that document, checks the domains it lists with HEXONET
//! `CheckDomains`, and writes the outcome back into the document:
//!
//! ```text
//! GET  /data/v1/{schemaId}/documents/{documentId}   → data.domains
//! HEXONET CheckDomains DOMAIN0…                      → 210 available / 211 taken
//! PUT  /data/v1/{schemaId}/documents/{documentId}   ← {"domainChecks": [...]}
//! ```
//!
//! The handler is here, in the library, so `tests/` can call it directly;
//! `src/main.rs` only runs it.

use exh_task::hexonet_command;
use exh_task::task::{Context, Event, Failure};
use serde::{Deserialize, Serialize};

/// The schema the task's documents live in when `data` does not say.
pub const DEFAULT_SCHEMA: &str = "domain-checks";

/// What the task is asked: the document to check, as a data-service `task`
/// action sends it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckRequest {
    /// The document listing the domains.
    pub document_id: String,
    /// Its schema (id or name). Default [`DEFAULT_SCHEMA`].
    #[serde(default = "default_schema")]
    pub schema_id: String,
}

fn default_schema() -> String {
    DEFAULT_SCHEMA.to_owned()
}

/// The part of the document the task reads.
#[derive(Deserialize)]
struct Document {
    data: DocumentData,
}

#[derive(Deserialize)]
struct DocumentData {
    #[serde(default)]
    domains: Vec<String>,
}

/// One domain's check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainCheck {
    /// The domain, as the document lists it.
    pub domain: String,
    /// Whether it can be registered (HEXONET `210`).
    pub available: bool,
    /// HEXONET's answer for it, e.g. `211 Domain name not available`.
    pub status: String,
}

/// The task's result (the Extra Horizon task's `result`), also written
/// into the document as `domainChecks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// The document checked.
    pub document_id: String,
    /// One check per domain, in the document's order.
    pub domain_checks: Vec<DomainCheck>,
}

/// The handler: read the document, decide, call HEXONET, write back.
///
/// Fails with `NoDomains` when the document lists none, `CheckFailed` when
/// HEXONET refuses the command, and exh-task's own `errorType`s
/// (`Timeout`, `Unauthorized`, `InvalidResponse` for a missing document, …)
/// otherwise.
pub async fn check_domains(event: Event<CheckRequest>, ctx: Context) -> Result<Outcome, Failure> {
    let request = event.into_data()?;
    let path = format!(
        "/data/v1/{}/documents/{}",
        request.schema_id, request.document_id
    );
    let document: Document = ctx.exh().get(&path).await?;
    let domains = document.data.domains;
    if domains.is_empty() {
        return Err(Failure::new(
            "NoDomains",
            format!("document {} lists no domains", request.document_id),
        ));
    }

    let command = hexonet_command! { COMMAND: "CheckDomains", DOMAIN: domains }?;
    let response = ctx.hexonet().command(command).await?;
    if !response.is_success() {
        return Err(Failure::new(
            "CheckFailed",
            format!(
                "HEXONET answered {} {}",
                response.code(),
                response.description()
            ),
        ));
    }
    // CheckDomains answers one DOMAINCHECK per DOMAINn, in order.
    let statuses = response.column("DOMAINCHECK").unwrap_or_default();
    let domain_checks = domains
        .into_iter()
        .zip(statuses)
        .map(|(domain, status)| DomainCheck {
            available: status.starts_with("210"),
            status: status.clone(),
            domain,
        })
        .collect();

    let outcome = Outcome {
        document_id: request.document_id,
        domain_checks,
    };
    let _: serde_json::Value = ctx
        .exh()
        .put(
            &path,
            &serde_json::json!({"domainChecks": outcome.domain_checks}),
        )
        .await?;
    Ok(outcome)
}
