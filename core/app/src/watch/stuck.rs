//! Executions running past the bound: told to the escalation contacts once a day.

use time::OffsetDateTime;

use crate::adapters::Adapters;
use crate::approval::routing::Routing;
use crate::approval::ChangeRecord;
use crate::ports::{ExecutionState, Notices, Workflow};
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::ChangeStatus;

use super::*;

/// Opened longer ago than the bound and not finished.
pub(super) fn past_bound(settings: &WatchSettings, record: &ChangeRecord, now: OffsetDateTime) -> bool {
    let finished = matches!(
        record.status,
        ChangeStatus::Rejected | ChangeStatus::Expired | ChangeStatus::Completed | ChangeStatus::Failed
    );
    !finished && now - record.change.detected_at > settings.stuck_after
}

pub(super) async fn stuck<A: Adapters>(
    ports: &A,
    settings: &WatchSettings,
    routing: &Routing,
    record: &ChangeRecord,
    now: OffsetDateTime,
    out: &mut WatchReport,
) -> Result<(), String> {
    let change = &record.change;
    if ports.workflow().execution(&change.id).await.map_err(|e| e.to_string())? != ExecutionState::Running {
        return Ok(());
    }
    out.stuck.push(change.id.to_string());
    tracing::error!(change_id = %change.id, since = %format_utc(change.detected_at), "execution running past its bound");
    if !ports
        .notices()
        .claim_change_notice(&change.id, &format!("stuck:{}", day(now)))
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(());
    }
    let group = routing.group(&change.approver_group).map_err(|e| e.to_string())?;
    let subject = format!("Stuck: change {} has run since {}", change.id, format_utc(change.detected_at));
    let text = format!(
        "{subject}\n\nIts execution is still running {} days after the change was opened (bound: {} days; status \
         {}). Every wait in the workflow has a deadline, so this needs a look: `keyturn changes show {}`.\n",
        (now - change.detected_at).whole_days(),
        settings.stuck_after.whole_days(),
        record.status.as_str(),
        change.id
    );
    alert((ports.mailer(), ports.chat()), group, &format!("stuck {}", change.id), &subject, &text, out).await;
    Ok(())
}
