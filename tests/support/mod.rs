//! Test-support modules shared by the integration tests (`mod support;`).
//! Each test crate uses only part of them, hence `dead_code` is allowed.

#[allow(dead_code)]
pub mod bootstrap;
#[allow(dead_code)]
pub mod events;
#[allow(dead_code)]
pub mod hexonet;
#[allow(dead_code)]
pub mod log;
#[allow(dead_code)]
pub mod python;
#[allow(dead_code)]
pub mod upstream;
#[allow(dead_code)]
pub mod wait;
