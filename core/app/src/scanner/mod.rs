//! The scanner: find due keys, validate them, group them into changes and
//! start one workflow per change.
//!
//! Split in two so `keyturn scan --dry-run` and the Lambda share every
//! decision: [`plan`] only reads; [`execute`] writes and starts workflows.
//! A bad record or a failed change never stops the others; they are reported.

mod execute;
mod plan;
mod repair;
mod report;
mod settings;
#[cfg(test)]
mod tests;

pub use execute::execute;
pub use plan::{plan, InvalidItem, Plan, Routed, SkippedItem};
pub use repair::{repair_wedged, RepairedItem};
pub use report::{
    dry_run_report, ChangeOutcome, ChangeReport, Health, ReminderSent, ScanReport, WatchReport, UNHANDLED_WITHIN,
};
pub use settings::ScanSettings;

use time::OffsetDateTime;

use crate::adapters::Adapters;
use crate::ports::StoreError;

/// The audit actor for everything the scanner does.
pub const ACTOR: &str = "scanner";

/// One scan: plan, unwedge what ended changes left behind (then plan again,
/// so the repaired connectors join this scan's changes), carry the plan out.
/// Returns the plan too: [`crate::watch`] works from it.
pub async fn run<A: Adapters>(
    ports: &A,
    settings: &ScanSettings,
    routed: &Routed,
    now: OffsetDateTime,
) -> Result<(Plan, ScanReport), StoreError> {
    let mut plan = plan(ports.inventory(), settings, now).await?;
    let (repaired, repair_errors) = repair_wedged(&plan, ports).await;
    if !repaired.is_empty() {
        plan = self::plan(ports.inventory(), settings, now).await?;
    }
    plan.keep_routed(routed);
    let mut report = execute(&plan, ports, settings).await;
    report.repaired = repaired;
    report.errors.extend(repair_errors);
    Ok((plan, report))
}
