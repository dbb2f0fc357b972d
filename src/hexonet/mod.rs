//! The pure, network-free half of the HEXONET connector: what the Python
//! SDK (`hexonet.apiconnector` 4.0.2) does to a command before it is sent
//! and to a response after it arrives, byte for byte.
//!
//! - [`command`]: [`Command`], an event's JSON object flattened as the SDK
//!   flattens it (upper-case sorted keys, arrays as `KEY0…`, punycode IDNs).
//! - [`post_data`]: [`PostBody`], the form body with the connection fields
//!   of [`SocketConfig`], and its masked twin for logs.
//! - [`response`]: [`parse`] and [`Response`], the hash and list views with
//!   the SDK's paging figures; the wire format is documented there.
//! - [`templates`]: [`Template`], the SDK's canned responses (421, 423, 500 …)
//!   for transport failures and unreadable answers.
//!
//! Where the SDK would raise or send something meaningless, this module
//! does the documented, safer thing instead (see [`Command`] and
//! [`parse`]); everything else is checked against the SDK itself by
//! `tests/hexonet_differential.rs`.

pub mod command;
mod error;
pub mod post_data;
mod python;
pub mod response;
pub mod templates;

pub use command::Command;
pub use error::Error;
pub use post_data::{PostBody, SocketConfig};
pub use response::{next_page, parse, Pagination, Record, Response};
pub use templates::Template;
