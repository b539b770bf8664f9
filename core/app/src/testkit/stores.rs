//! The tables and Secrets Manager, in memory, with the conditions the real
//! adapters put on their writes (first vote counts, a closed change stays
//! closed, a notice is claimed once, a once-event is written once).

use time::OffsetDateTime;

use super::{Fakes, StoredChange, StoredIntake};
use crate::approval::{ApprovalRequest, ChangeRecord, TaskToken};
use crate::notify::ConnectorOutcome;
use crate::ports::{
    Approvals, AuditLog, ChangeStore, ConnectorLookup, ConnectorStates, DueItems, ExecutionState, IntakeTokens,
    Inventory, Notices, OpenIntake, OutcomeLog, SecretStore, StartOutcome, StoreError, StoredConnector, VoteResult,
    Workflow,
};
use crate::rotation::StoredKey;
use keyturn_domain::approval::Vote;
use keyturn_domain::{
    AuditEvent, ChainHead, Change, ChangeId, ChangeLease, ChangeStatus, ConnectorId, NewAuditEvent, SecretArn,
};

impl Inventory for Fakes {
    async fn due(&self, cutoff: OffsetDateTime) -> Result<DueItems, StoreError> {
        let items: Vec<StoredConnector> = self
            .connectors
            .iter()
            .filter(|s| {
                s.record.get("expires_at").and_then(keyturn_domain::timefmt::parse_instant).is_none_or(|t| t <= cutoff)
            })
            .map(|s| {
                let mut s = StoredConnector { lease: self.leases.lock().unwrap().get(&s.id).cloned(), ..s.clone() };
                if self.reset.lock().unwrap().contains(&s.id) {
                    s.record.fields.insert("status".into(), "active".into());
                }
                s
            })
            .collect();
        Ok(DueItems { items_read: items.len() as u64, pages: 1, items })
    }
    async fn claim(&self, id: &ConnectorId, lease: &ChangeLease, now: OffsetDateTime) -> Result<bool, StoreError> {
        let mut leases = self.leases.lock().unwrap();
        match leases.get(id) {
            Some(l) if l.until > now && l.change_id != lease.change_id => Ok(false),
            _ => {
                leases.insert(id.clone(), lease.clone());
                Ok(true)
            }
        }
    }
    async fn reset_wedged(&self, id: &ConnectorId, change: &ChangeId, _: OffsetDateTime) -> Result<bool, StoreError> {
        let mut leases = self.leases.lock().unwrap();
        if leases.get(id).is_some_and(|l| &l.change_id == change) {
            leases.remove(id);
            self.reset.lock().unwrap().insert(id.clone());
            return Ok(true);
        }
        Ok(false)
    }
    async fn release(&self, id: &ConnectorId, change: &ChangeId) -> Result<(), StoreError> {
        let mut leases = self.leases.lock().unwrap();
        if leases.get(id).is_some_and(|l| &l.change_id == change) {
            leases.remove(id);
        }
        Ok(())
    }
}

impl ChangeStore for Fakes {
    async fn create(&self, change: &Change) -> Result<bool, StoreError> {
        self.records.lock().unwrap().entry(change.id.clone()).or_insert_with(|| StoredChange {
            record: ChangeRecord {
                change: change.clone(),
                status: ChangeStatus::Detected,
                request: None,
                votes: Vec::new(),
                decided_at: None,
                rotate_at: None,
                ticket: None,
                outcomes: Vec::new(),
                notices: Vec::new(),
            },
            task_token: None,
            delivery_claimed_at: None,
        });
        Ok(self.changes.lock().unwrap().insert(change.id.clone()))
    }
    async fn awaiting_since(&self, ids: &[ChangeId]) -> Result<Vec<(ChangeId, OffsetDateTime)>, StoreError> {
        // Every change in this store waits for approval since it was made.
        let (changes, made_at) = (self.changes.lock().unwrap(), *self.made_at.lock().unwrap());
        Ok(ids.iter().filter(|id| changes.contains(*id)).filter_map(|id| Some((id.clone(), made_at?))).collect())
    }
    async fn status(&self, id: &ChangeId) -> Result<Option<ChangeStatus>, StoreError> {
        Ok(self.changes.lock().unwrap().contains(id).then_some(ChangeStatus::Detected))
    }
}

impl Workflow for Fakes {
    async fn start(&self, change: &Change) -> Result<StartOutcome, StoreError> {
        if self.fail_start {
            return Err(StoreError {
                service: "sfn",
                operation: "StartExecution",
                message: "boom".into(),
                retryable: true,
            });
        }
        if self.started.lock().unwrap().insert(change.id.clone()) {
            Ok(StartOutcome::Started { execution_arn: format!("arn:exec:{}", change.id) })
        } else {
            Ok(StartOutcome::AlreadyRunning)
        }
    }
    async fn execution(&self, change: &ChangeId) -> Result<ExecutionState, StoreError> {
        // Changes this store started are still running; any other never ran.
        Ok(if self.started.lock().unwrap().contains(change) {
            ExecutionState::Running
        } else {
            ExecutionState::Missing
        })
    }
}

impl ConnectorLookup for Fakes {
    async fn get_many(&self, ids: &[ConnectorId]) -> Result<Vec<StoredConnector>, StoreError> {
        Ok(self.connectors.iter().filter(|c| ids.contains(&c.id)).cloned().collect())
    }
}

impl ConnectorStates for Fakes {
    async fn mark_rotating(&self, id: &ConnectorId, _: &ChangeId, _: OffsetDateTime) -> Result<(), StoreError> {
        self.marks.lock().unwrap().push(format!("rotating {id}"));
        self.wrote(format!("mark rotating {id}"))
    }
    async fn mark_rotated(
        &self,
        id: &ConnectorId,
        _: &ChangeId,
        _: OffsetDateTime,
        _: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.marks.lock().unwrap().push(format!("rotated {id}"));
        self.wrote(format!("mark rotated {id}"))
    }
    async fn mark_manual(&self, id: &ConnectorId, _: &ChangeId, _: OffsetDateTime) -> Result<(), StoreError> {
        self.marks.lock().unwrap().push(format!("manual {id}"));
        self.wrote(format!("mark manual {id}"))
    }
}

impl SecretStore for Fakes {
    async fn current(&self, _: &SecretArn) -> Result<(String, StoredKey), StoreError> {
        let versions = self.versions.lock().unwrap();
        versions
            .iter()
            .find(|(_, (_, labels))| labels.contains(&"AWSCURRENT"))
            .map(|(id, (k, _))| (id.clone(), k.clone()))
            .ok_or_else(|| Self::store_error("GetSecretValue", "no AWSCURRENT"))
    }
    async fn version(&self, _: &SecretArn, id: &str) -> Result<Option<StoredKey>, StoreError> {
        Ok(self.versions.lock().unwrap().get(id).map(|(k, _)| k.clone()))
    }
    async fn pending(&self, _: &SecretArn) -> Result<Vec<String>, StoreError> {
        Ok(self.labelled("AWSPENDING"))
    }
    async fn put_pending(&self, _: &SecretArn, token: &str, key: &StoredKey) -> Result<String, StoreError> {
        // The same client request token again is a no-op, as in Secrets Manager.
        let fresh = {
            let mut versions = self.versions.lock().unwrap();
            let fresh = !versions.contains_key(token);
            versions.entry(token.to_owned()).or_insert_with(|| (key.clone(), vec!["AWSPENDING"]));
            fresh
        };
        if fresh {
            self.wrote(format!("put_pending {token}"))?;
        }
        Ok(token.to_owned())
    }
    async fn promote(&self, _: &SecretArn, new: &str, old: &str) -> Result<(), StoreError> {
        {
            let mut versions = self.versions.lock().unwrap();
            if let Some((_, l)) = versions.get_mut(old) {
                *l = vec!["AWSPREVIOUS"];
            }
            if let Some((_, l)) = versions.get_mut(new) {
                *l = vec!["AWSCURRENT"];
            }
        }
        self.wrote(format!("promote {new}"))
    }
    async fn drop_pending(&self, _: &SecretArn, id: &str) -> Result<(), StoreError> {
        if let Some((_, l)) = self.versions.lock().unwrap().get_mut(id) {
            l.retain(|s| *s != "AWSPENDING");
        }
        self.wrote(format!("drop_pending {id}"))
    }
}

impl AuditLog for Fakes {
    async fn append(&self, event: NewAuditEvent) -> Result<AuditEvent, StoreError> {
        let ev = {
            let mut log = self.audit.lock().unwrap();
            // A once-event already written comes back instead of a second one.
            if event.once && event.change_id.is_some() {
                let earlier = log.iter().find(|e| {
                    e.connector_id == event.connector_id
                        && e.change_id.as_deref() == event.change_id.as_ref().map(ChangeId::as_str)
                        && e.event == event.event.as_str()
                        && e.actor == event.actor
                });
                if let Some(earlier) = earlier {
                    return Ok(earlier.clone());
                }
            }
            let head: Option<ChainHead> =
                log.iter().rfind(|e| e.connector_id == event.connector_id).map(AuditEvent::head);
            let ev = event.seal(head.as_ref());
            log.push(ev.clone());
            ev
        };
        self.wrote(format!("audit {}", ev.event))?;
        Ok(ev)
    }
}

impl IntakeTokens for Fakes {
    async fn put_intake(
        &self,
        change: &ChangeId,
        connector: &ConnectorId,
        token: &TaskToken,
        requested_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let intake = StoredIntake { token: token.clone(), open: true, requested_at, expires_at };
        self.intakes.lock().unwrap().insert((change.to_string(), connector.to_string()), intake);
        self.wrote(format!("put_intake {connector}"))
    }
    async fn open_intakes(&self, change: &ChangeId, connectors: &[ConnectorId]) -> Result<Vec<OpenIntake>, StoreError> {
        let intakes = self.intakes.lock().unwrap();
        Ok(connectors
            .iter()
            .filter_map(|c| {
                let i = intakes.get(&(change.to_string(), c.to_string())).filter(|i| i.open)?;
                Some(OpenIntake { connector: c.clone(), requested_at: i.requested_at, expires_at: i.expires_at })
            })
            .collect())
    }
    async fn intake_token(&self, change: &ChangeId, connector: &ConnectorId) -> Result<Option<TaskToken>, StoreError> {
        let intakes = self.intakes.lock().unwrap();
        Ok(intakes.get(&(change.to_string(), connector.to_string())).filter(|i| i.open).map(|i| i.token.clone()))
    }
    async fn close_intake(
        &self,
        change: &ChangeId,
        connector: &ConnectorId,
        _: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut intakes = self.intakes.lock().unwrap();
        match intakes.get_mut(&(change.to_string(), connector.to_string())) {
            Some(i) if i.open => {
                i.open = false;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

fn no_record(operation: &'static str, id: &ChangeId) -> StoreError {
    Fakes::store_error(operation, &format!("change {id} has no record"))
}

/// The change record's approval side, with the real table's conditions.
impl Approvals for Fakes {
    async fn get(&self, id: &ChangeId) -> Result<Option<ChangeRecord>, StoreError> {
        Ok(self.change_record(id))
    }
    async fn get_many(&self, ids: &[ChangeId]) -> Result<Vec<ChangeRecord>, StoreError> {
        let records = self.records.lock().unwrap();
        Ok(ids.iter().filter_map(|id| records.get(id)).map(|s| s.record.clone()).collect())
    }
    async fn open(&self, id: &ChangeId, request: &ApprovalRequest, token: &TaskToken) -> Result<bool, StoreError> {
        {
            let mut records = self.records.lock().unwrap();
            let s = records.get_mut(id).ok_or_else(|| no_record("open", id))?;
            if !s.record.status.is_open() {
                return Ok(false);
            }
            s.record.status = ChangeStatus::AwaitingApproval;
            s.record.request = Some(request.clone());
            s.task_token = Some(token.clone());
        }
        self.wrote(format!("open {id}")).map(|()| true)
    }
    async fn vote(&self, id: &ChangeId, vote: &Vote) -> Result<VoteResult, StoreError> {
        let result = {
            let mut records = self.records.lock().unwrap();
            let Some(s) = records.get_mut(id) else { return Ok(VoteResult::UnknownChange) };
            if s.record.status != ChangeStatus::AwaitingApproval {
                return Ok(if s.record.status.is_open() {
                    VoteResult::AlreadyVoted(s.record.clone())
                } else {
                    VoteResult::Closed(s.record.clone())
                });
            }
            if s.record.votes.iter().any(|v| v.approver == vote.approver) {
                return Ok(VoteResult::AlreadyVoted(s.record.clone()));
            }
            s.record.votes.push(vote.clone());
            VoteResult::Recorded(s.record.clone())
        };
        self.wrote(format!("vote {} {}", vote.approver, vote.decision.as_str()))?;
        Ok(result)
    }
    async fn close(
        &self,
        id: &ChangeId,
        status: ChangeStatus,
        at: OffsetDateTime,
        rotate_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        {
            let mut records = self.records.lock().unwrap();
            let Some(s) = records.get_mut(id).filter(|s| s.record.status == ChangeStatus::AwaitingApproval) else {
                return Ok(false);
            };
            s.record.status = status;
            s.record.decided_at = Some(at);
            s.record.rotate_at = rotate_at;
            s.delivery_claimed_at = Some(at);
        }
        self.wrote(format!("close {id} {}", status.as_str())).map(|()| true)
    }
    async fn finish(&self, id: &ChangeId, status: ChangeStatus, _: OffsetDateTime) -> Result<(), StoreError> {
        {
            let mut records = self.records.lock().unwrap();
            let Some(s) = records
                .get_mut(id)
                .filter(|s| !matches!(s.record.status, ChangeStatus::Completed | ChangeStatus::Failed))
            else {
                return Ok(());
            };
            s.record.status = status;
            s.task_token = None;
        }
        self.wrote(format!("finish {id} {}", status.as_str()))
    }
    async fn task_token(&self, id: &ChangeId) -> Result<Option<TaskToken>, StoreError> {
        Ok(self.records.lock().unwrap().get(id).and_then(|s| s.task_token.clone()))
    }
    async fn delivered(&self, id: &ChangeId) -> Result<(), StoreError> {
        let mut records = self.records.lock().unwrap();
        if let Some(s) =
            records.get_mut(id).filter(|s| matches!(s.record.status, ChangeStatus::Approved | ChangeStatus::Rejected))
        {
            s.task_token = None;
        }
        Ok(())
    }
    async fn claim_redelivery(
        &self,
        id: &ChangeId,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut records = self.records.lock().unwrap();
        let Some(s) = records.get_mut(id) else { return Ok(false) };
        let decided = matches!(s.record.status, ChangeStatus::Approved | ChangeStatus::Rejected);
        if s.task_token.is_none() || !decided || s.delivery_claimed_at.is_some_and(|t| t >= stale_before) {
            return Ok(false);
        }
        s.delivery_claimed_at = Some(now);
        Ok(true)
    }
    async fn set_ticket(&self, id: &ChangeId, ticket: &str) -> Result<(), StoreError> {
        let mut records = self.records.lock().unwrap();
        let s = records.get_mut(id).ok_or_else(|| no_record("set_ticket", id))?;
        s.record.ticket = Some(ticket.to_owned());
        Ok(())
    }
}

impl OutcomeLog for Fakes {
    async fn record_outcome(&self, change: &ChangeId, outcome: &ConnectorOutcome) -> Result<(), StoreError> {
        {
            let mut records = self.records.lock().unwrap();
            let s = records.get_mut(change).ok_or_else(|| no_record("record_outcome", change))?;
            let outcomes = &mut s.record.outcomes;
            outcomes.retain(|o| o.connector_id != outcome.connector_id);
            outcomes.push(outcome.clone());
            outcomes.sort_by(|a, b| a.connector_id.cmp(&b.connector_id));
        }
        self.wrote(format!("outcome {} {}", outcome.connector_id, outcome.outcome))
    }
}

impl Notices for Fakes {
    async fn claim_change_notice(&self, change: &ChangeId, key: &str) -> Result<bool, StoreError> {
        let mut records = self.records.lock().unwrap();
        let Some(s) = records.get_mut(change) else { return Ok(false) };
        if s.record.notices.iter().any(|n| n == key) {
            return Ok(false);
        }
        s.record.notices.push(key.to_owned());
        Ok(true)
    }
    async fn claim_daily(&self, key: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let day = keyturn_domain::timefmt::format_utc(now).get(..10).unwrap_or_default().to_owned();
        Ok(self.daily.lock().unwrap().insert(format!("{key}@{day}")))
    }
}
