//! The rules that turn votes into a decision: N of M distinct approvers,
//! any rejection rejects, and (two-person rule) an owner of the change's
//! keys may not approve alone.

use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::links::{Approver, Decision};

/// How many approvals a change needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRule {
    /// Distinct approvals needed (N of M).
    pub required: NonZeroU32,
    /// A connector owner cannot be the only approver.
    #[serde(default)]
    pub two_person: bool,
}

impl Default for ApprovalRule {
    fn default() -> Self {
        Self { required: NonZeroU32::MIN, two_person: false }
    }
}

/// One approver's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    pub approver: Approver,
    pub decision: Decision,
    pub at: OffsetDateTime,
}

/// Where the votes stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tally {
    Pending { approvals: u32, required: u32, waiting_for_second_person: bool },
    Approved { approvers: Vec<Approver> },
    Rejected { by: Approver },
}

/// Applies the rule to the votes, in order. Only each approver's first vote
/// counts; any rejection rejects; approval needs `required` distinct
/// approvers and, under the two-person rule, at least one who is not an
/// owner of the change's keys.
///
/// ```
/// use keyturn_domain::approval::*;
/// use time::macros::datetime;
/// let ana = Approver::parse("ana@acme.example").unwrap();
/// let bo = Approver::parse("bo@acme.example").unwrap();
/// let rule = ApprovalRule { required: 1.try_into().unwrap(), two_person: true };
/// let at = datetime!(2026-11-24 09:00 UTC);
/// let vote = |a: &Approver| Vote { approver: a.clone(), decision: Decision::Approve, at };
/// // Ana owns the key: her approval alone is not enough.
/// assert!(matches!(tally(&rule, &[ana.clone()], &[vote(&ana)]), Tally::Pending { waiting_for_second_person: true, .. }));
/// assert!(matches!(tally(&rule, &[ana.clone()], &[vote(&ana), vote(&bo)]), Tally::Approved { .. }));
/// ```
pub fn tally(rule: &ApprovalRule, owners: &[Approver], votes: &[Vote]) -> Tally {
    let mut seen: Vec<&Approver> = Vec::new();
    let mut approvers: Vec<Approver> = Vec::new();
    for v in votes {
        if seen.contains(&&v.approver) {
            continue;
        }
        seen.push(&v.approver);
        match v.decision {
            Decision::Reject => return Tally::Rejected { by: v.approver.clone() },
            Decision::Approve => approvers.push(v.approver.clone()),
            // Handing over a key is not an opinion on the change.
            Decision::Intake => {}
        }
    }
    let count = u32::try_from(approvers.len()).unwrap_or(u32::MAX);
    let enough = count >= rule.required.get();
    let second_person = !rule.two_person || approvers.iter().any(|a| !owners.contains(a));
    if enough && second_person {
        Tally::Approved { approvers }
    } else {
        Tally::Pending { approvals: count, required: rule.required.get(), waiting_for_second_person: enough }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 09:00 UTC);

    fn vote(who: &str, decision: Decision) -> Vote {
        Vote { approver: Approver::parse(who).unwrap(), decision, at: NOW }
    }

    fn rule(required: u32, two_person: bool) -> ApprovalRule {
        ApprovalRule { required: NonZeroU32::new(required).unwrap(), two_person }
    }

    #[test]
    fn n_of_m() {
        use Decision::*;
        assert!(matches!(tally(&rule(1, false), &[], &[vote("a@x.example", Approve)]), Tally::Approved { .. }));
        let one = [vote("a@x.example", Approve)];
        assert_eq!(
            tally(&rule(2, false), &[], &one),
            Tally::Pending { approvals: 1, required: 2, waiting_for_second_person: false }
        );
        let twice = [vote("a@x.example", Approve), vote("A@x.example", Approve)];
        assert!(
            matches!(tally(&rule(2, false), &[], &twice), Tally::Pending { approvals: 1, .. }),
            "one person, one vote"
        );
        let two = [vote("a@x.example", Approve), vote("b@x.example", Approve)];
        assert!(matches!(tally(&rule(2, false), &[], &two), Tally::Approved { approvers } if approvers.len() == 2));
    }

    #[test]
    fn a_rejection_wins_but_only_a_first_vote_counts() {
        use Decision::*;
        let votes = [vote("a@x.example", Approve), vote("b@x.example", Reject), vote("c@x.example", Approve)];
        assert!(matches!(tally(&rule(2, false), &[], &votes), Tally::Rejected { by } if by.as_str() == "b@x.example"));
        let changed_mind = [vote("a@x.example", Approve), vote("a@x.example", Reject)];
        assert!(matches!(tally(&rule(1, false), &[], &changed_mind), Tally::Approved { .. }));
    }

    #[test]
    fn two_person_rule() {
        use Decision::*;
        let owner = [Approver::parse("o@x.example").unwrap()];
        let alone = [vote("o@x.example", Approve)];
        assert_eq!(
            tally(&rule(1, true), &owner, &alone),
            Tally::Pending { approvals: 1, required: 1, waiting_for_second_person: true }
        );
        let with_other = [vote("o@x.example", Approve), vote("b@x.example", Approve)];
        assert!(matches!(tally(&rule(1, true), &owner, &with_other), Tally::Approved { .. }));
        assert!(matches!(tally(&rule(1, false), &owner, &alone), Tally::Approved { .. }), "rule off");
        let two_owners = [Approver::parse("o@x.example").unwrap(), Approver::parse("p@x.example").unwrap()];
        let both_owners = [vote("o@x.example", Approve), vote("p@x.example", Approve)];
        assert!(matches!(
            tally(&rule(2, true), &two_owners, &both_owners),
            Tally::Pending { waiting_for_second_person: true, .. }
        ));
        let plus = [vote("o@x.example", Approve), vote("p@x.example", Approve), vote("q@x.example", Approve)];
        assert!(matches!(tally(&rule(2, true), &two_owners, &plus), Tally::Approved { .. }));
        assert_eq!(
            tally(&rule(2, true), &owner, &alone),
            Tally::Pending { approvals: 1, required: 2, waiting_for_second_person: false },
            "short of the count: not yet waiting for a second person"
        );
        assert!(
            matches!(tally(&rule(2, true), &owner, &with_other), Tally::Approved { approvers } if approvers.len() == 2)
        );
    }
}
