//! keyturn-app: the ports and the use cases.
//!
//! - [`ports`]: the small traits the use cases need, one per capability;
//!   keyturn-aws and keyturn-vendors implement them, [`testkit`] (feature
//!   `testkit`) holds in-memory ones.
//! - [`scanner`]: the scheduled scan; [`watch`]: what the scan says besides
//!   starting changes (reminders, stuck runs, repairs, the daily digest).
//! - [`approval`]: the request-approval step, the approval page, the key
//!   hand-over; [`notify`]: how a change ended, told and recorded.
//! - [`rotation`]: rotate, verify, finalize, rollback.
//! - [`own`]: keyturn's own credentials and what their issuers report.
//! - [`audit`]: appends and the daily signed digests.
//! - [`config`]: the settings every service reads from its environment.
//!
//! May depend on: keyturn-domain. No AWS SDK, no HTTP client: the use cases
//! are unit-tested against in-memory adapters, in milliseconds.

pub mod adapters;
pub mod approval;
pub mod audit;
pub mod calls;
pub mod config;
pub mod faults;
pub mod inventory;
pub mod lazy;
pub mod notify;
pub mod own;
pub mod ports;
pub mod retry;
pub mod rotation;
pub mod scanner;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod watch;
