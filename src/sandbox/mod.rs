//! tmp
pub mod oauth1_verifier;
