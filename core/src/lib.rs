//! keyturn-core: everything in keyturn that is not a Lambda entry point.
//!
//! - [`domain`]: connectors, changes, audit events, policy — pure, no I/O.
//! - [`procedures`]: the fixed table connector kind → rotation procedure.
//! - [`inventory`]: reading and validating inventory files and items.
//! - [`ports`]: the small traits the logic needs; [`aws`] implements them.
//! - [`scanner`]: the scheduled scan, shared by the Lambda and the CLI.
//! - [`watch`]: what the scan says besides starting changes: reminders,
//!   stuck-run and repair alerts, the daily digest.

pub mod approval;
pub mod audit;
pub mod aws;
pub mod config;
pub mod domain;
#[cfg(test)]
mod fakes;
pub mod faults;
pub mod http;
pub mod inventory;
pub mod lazy;
pub mod notify;
pub mod ports;
pub mod procedures;
pub mod rotation;
pub mod scanner;
pub mod service;
pub mod watch;
