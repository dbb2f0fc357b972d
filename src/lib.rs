//! exh-task: run an Extra Horizon task or AWS Lambda function that talks to
//! the Extra Horizon API (OAuth1) and the HEXONET API.

#![warn(missing_docs)]

#[cfg(feature = "sandbox")]
pub mod sandbox;
