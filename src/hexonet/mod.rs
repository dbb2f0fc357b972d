//! The HEXONET connector, for HEXONET and its successor CentralNic Reseller
//! (`HEXONET_BACKEND`): the pure, network-free half (what the Python SDKs,
//! `hexonet.apiconnector` 4.0.2 and `centralnicreseller.apiconnector` 6.0.0,
//! do to a command before it is sent and to a response after it arrives,
//! byte for byte) and the client that sends.
//!
//! The pure half knows nothing of the Lambda function: its failures are
//! [`Error`] (a command that cannot be built) and [`ParseError`] (an answer
//! that cannot be read), which the network half turns into
//! [`crate::Error`].
//!
//! The pure half:
//! - [`protocol`]: [`Backend`] and [`System`], the one table of URLs and
//!   entities, [`Endpoint`] (the URL, entity and login of the account), and
//!   [`Protocol`], what the two platforms do differently (fields, sessions,
//!   subuser view, IDN keys), as data; everything else is shared.
//! - [`settings`]: [`Settings`], the `HEXONET_*` configuration.
//! - [`command`]: [`Command`], an event's JSON object flattened as the SDKs
//!   flatten it (upper-case sorted keys, arrays as `KEY0…`).
//! - [`idn`]: [`IdnRules`], each SDK's punycode conversion, done locally.
//! - [`post_data`]: [`PostBody`], the form body with the connection fields
//!   of [`SocketConfig`].
//! - [`response`]: [`parse`] and [`Response`], the hash and list views with
//!   the SDK's paging figures, or a [`ParseError`] for a text that is not
//!   a response; the wire format is documented there.
//! - [`templates`]: [`Template`], the SDK's canned responses (421, 423, 500 …)
//!   for transport failures and unreadable answers.
//! - [`pages`]: `all_pages`, the page commands and their merge (pure),
//!   and the client's paging ([`Client::all_pages`], [`Client::next_page`]).
//!
//! The network half:
//! - [`request`]: [`Request`], an event's `hexonet` request, and [`Options`].
//! - [`client`]: [`Client`] and its entry [`Client::send`]: one request,
//!   with its retries, session and pages.
//! - [`attempt`]: one exchange with `call.cgi`: the POST body, the
//!   failures that are errors, what is retried ([`is_read_command`]).
//! - [`session`]: the kept session: opened, renewed on `530 SESSION NOT
//!   FOUND`, closed.
//!
//! Where the SDK would raise or send something meaningless, this module
//! does the documented, safer thing instead (see [`Command`] and
//! [`parse`]); everything else is checked against the SDK itself by
//! `tests/hexonet_differential.rs`, for both SDKs.

pub mod attempt;
pub mod client;
pub mod command;
mod error;
pub mod idn;
pub mod pages;
pub mod post_data;
pub mod protocol;
pub(crate) mod python;
pub mod request;
pub mod response;
pub mod session;
pub mod settings;
pub mod templates;

pub use attempt::is_read_command;
pub use client::Client;
pub use request::{Options, Prepared, Request};

pub use command::Command;
pub use error::{Error, ParseError};
pub use idn::IdnRules;
pub use post_data::{PostBody, SocketConfig};
pub use protocol::{Backend, Endpoint, Protocol, System, PROXY_URL};
pub use response::{next_page, parse, Page, Pagination, Record, Response, ResponseView, View};
pub use settings::Settings;
pub use templates::Template;
