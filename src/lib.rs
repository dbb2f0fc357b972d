//! exh-task: run an Extra Horizon task or AWS Lambda function that talks to
//! the Extra Horizon API (OAuth1) and the HEXONET API.
//!
//! - [`hexonet`]: the HEXONET command encoder and response parser.
#![warn(missing_docs)]

pub mod hexonet;
