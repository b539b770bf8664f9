//! The approval port: a request opened, votes recorded once each, the
//! decision closed and delivered to the waiting workflow.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use time::OffsetDateTime;

use super::codec::{list, record};
use super::DynamoChangeStore;
use crate::item::{get_s, is_conditional_failure, n, s, update_if};
use crate::store_error;
use keyturn_app::approval::{ApprovalRequest, ChangeRecord, TaskToken};
use keyturn_app::ports::{Approvals, StoreError, VoteResult};
use keyturn_domain::approval::Vote;
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::{ChangeId, ChangeStatus};

impl Approvals for DynamoChangeStore {
    async fn get(&self, id: &ChangeId) -> Result<Option<ChangeRecord>, StoreError> {
        Ok(self.get_item(id).await?.as_ref().and_then(record))
    }

    async fn get_many(&self, ids: &[ChangeId]) -> Result<Vec<ChangeRecord>, StoreError> {
        let items = self.get_items(ids).await?;
        Ok(ids.iter().filter_map(|id| items.get(id.as_str())).filter_map(record).collect())
    }

    async fn open(&self, id: &ChangeId, request: &ApprovalRequest, token: &TaskToken) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("change_id", s(id.as_str()))
            .update_expression(
                "SET #status = :awaiting, approvers = :approvers, #required = :required, two_person = :two, \
                 owners = :owners, requested_at = :requested, links_expire_at = :expires, execution_arn = :exec, \
                 task_token = :token, votes = if_not_exists(votes, :empty)",
            )
            .condition_expression("attribute_exists(change_id) AND #status IN (:detected, :awaiting)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#required", "required")
            .expression_attribute_values(":awaiting", s(ChangeStatus::AwaitingApproval.as_str()))
            .expression_attribute_values(":detected", s(ChangeStatus::Detected.as_str()))
            .expression_attribute_values(":approvers", list(request.approvers.iter().map(|a| a.as_str())))
            .expression_attribute_values(":required", n(u64::from(request.rule.required.get())))
            .expression_attribute_values(":two", AttributeValue::Bool(request.rule.two_person))
            .expression_attribute_values(":owners", list(request.owners.iter().map(|a| a.as_str())))
            .expression_attribute_values(":requested", s(format_utc(request.requested_at)))
            .expression_attribute_values(":expires", s(format_utc(request.links_expire_at)))
            .expression_attribute_values(":exec", s(&request.execution_arn))
            .expression_attribute_values(":token", s(token.expose()))
            .expression_attribute_values(":empty", AttributeValue::M(HashMap::new()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => {
                if self.get_item(id).await?.is_none() {
                    return Err(StoreError {
                        service: "dynamodb",
                        operation: "UpdateItem",
                        message: format!("change {id} has no record in {}", self.table),
                        retryable: false,
                    });
                }
                Ok(false)
            }
            Err(e) => Err(store_error("dynamodb", "UpdateItem", e)),
        }
    }

    async fn vote(&self, id: &ChangeId, vote: &Vote) -> Result<VoteResult, StoreError> {
        let value = AttributeValue::M(HashMap::from([
            ("decision".to_owned(), s(vote.decision.as_str())),
            ("at".to_owned(), s(format_utc(vote.at))),
        ]));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("change_id", s(id.as_str()))
            .update_expression("SET votes.#approver = :vote")
            .condition_expression("#status = :awaiting AND attribute_not_exists(votes.#approver)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#approver", vote.approver.as_str())
            .expression_attribute_values(":awaiting", s(ChangeStatus::AwaitingApproval.as_str()))
            .expression_attribute_values(":vote", value)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                Ok(out.attributes.as_ref().and_then(record).map_or(VoteResult::UnknownChange, VoteResult::Recorded))
            }
            Err(e) if is_conditional_failure(&e) => Ok(match self.get(id).await? {
                None => VoteResult::UnknownChange,
                Some(r) if !r.status.is_open() => VoteResult::Closed(r),
                Some(r) => VoteResult::AlreadyVoted(r),
            }),
            Err(e) => Err(store_error("dynamodb", "UpdateItem", e)),
        }
    }

    async fn close(
        &self,
        id: &ChangeId,
        status: ChangeStatus,
        at: OffsetDateTime,
        rotate_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("change_id", s(id.as_str()))
            .condition_expression("#status = :awaiting")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":awaiting", s(ChangeStatus::AwaitingApproval.as_str()))
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":at", s(format_utc(at)));
        update = match rotate_at {
            Some(t) => update
                .update_expression(
                    "SET #status = :status, decided_at = :at, delivery_claimed_at = :at, rotate_at = :rotate",
                )
                .expression_attribute_values(":rotate", s(format_utc(t))),
            None => update.update_expression("SET #status = :status, decided_at = :at, delivery_claimed_at = :at"),
        };
        update_if(update).await
    }

    async fn finish(&self, id: &ChangeId, status: ChangeStatus, at: OffsetDateTime) -> Result<(), StoreError> {
        update_if(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("change_id", s(id.as_str()))
                // The token is useless once the workflow moved on: drop it.
                .update_expression("SET #status = :status, finished_at = :at REMOVE task_token")
                .condition_expression("attribute_exists(change_id) AND NOT #status IN (:completed, :failed)")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status.as_str()))
                .expression_attribute_values(":at", s(format_utc(at)))
                .expression_attribute_values(":completed", s(ChangeStatus::Completed.as_str()))
                .expression_attribute_values(":failed", s(ChangeStatus::Failed.as_str())),
        )
        .await
        .map(drop)
    }

    async fn task_token(&self, id: &ChangeId) -> Result<Option<TaskToken>, StoreError> {
        Ok(self.get_item(id).await?.as_ref().and_then(|i| get_s(i, "task_token")).map(TaskToken::new))
    }

    async fn claim_redelivery(
        &self,
        id: &ChangeId,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        update_if(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("change_id", s(id.as_str()))
                .update_expression("SET delivery_claimed_at = :now")
                // format_utc is fixed-width, so its strings order like the instants.
                .condition_expression(
                    "attribute_exists(task_token) AND #status IN (:approved, :rejected) AND \
                 (attribute_not_exists(delivery_claimed_at) OR delivery_claimed_at < :stale)",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":approved", s(ChangeStatus::Approved.as_str()))
                .expression_attribute_values(":rejected", s(ChangeStatus::Rejected.as_str()))
                .expression_attribute_values(":now", s(format_utc(now)))
                .expression_attribute_values(":stale", s(format_utc(stale_before))),
        )
        .await
    }

    async fn delivered(&self, id: &ChangeId) -> Result<(), StoreError> {
        update_if(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("change_id", s(id.as_str()))
                .update_expression("REMOVE task_token")
                // Only a decided change: a re-opened request's fresh token stays.
                .condition_expression("#status IN (:approved, :rejected)")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":approved", s(ChangeStatus::Approved.as_str()))
                .expression_attribute_values(":rejected", s(ChangeStatus::Rejected.as_str())),
        )
        .await
        .map(drop)
    }

    async fn set_ticket(&self, id: &ChangeId, ticket: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("change_id", s(id.as_str()))
            .update_expression("SET ticket = :t")
            .condition_expression("attribute_exists(change_id)")
            .expression_attribute_values(":t", s(ticket))
            .send()
            .await
            .map_err(|e| store_error("dynamodb", "UpdateItem", e))?;
        Ok(())
    }
}
