//! End-to-end tests: the real `keyturn` binary and the real AWS SDK against
//! the local stack (moto on 127.0.0.1:4566, started by `make up`).
//! One test binary for all of them, so the SDK is linked once.

// Tests say what they expect by panicking; the no-unwrap rule is for shipped code.
#![allow(clippy::unwrap_used)]

mod app_secrets;
mod approval;
mod audit;
mod crash;
mod hardening;
mod harness;
mod inventory;
mod rotation;
mod scale;
mod scan;
mod scim;
mod scim_token;
mod watch;
mod workflow;
