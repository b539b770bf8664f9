//! The scanner against the local stack: cost, idempotency, bad stored items.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use keyturn_aws::DynamoAuditLog;
use keyturn_domain::{check_link, AuditEvent};
use serde_json::Value;

use crate::harness::{Stack, NOW, STATE_MACHINE_ARN};

fn change_ids(report: &Value) -> Vec<String> {
    report["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c["change_id"].as_str().expect("id").to_owned())
        .collect()
}

/// Executions of the shared local state machine, by name.
async fn executions(s: &Stack) -> BTreeMap<String, usize> {
    let sfn = aws_sdk_sfn::Client::new(&s.sdk().await);
    let all = sfn
        .list_executions()
        .state_machine_arn(STATE_MACHINE_ARN)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("list executions");
    let mut by_name = BTreeMap::new();
    for e in all {
        *by_name.entry(e.name().to_owned()).or_insert(0) += 1;
    }
    by_name
}

async fn audit(s: &Stack) -> Vec<AuditEvent> {
    DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(&s.sdk().await), &s.tables.audit).all().await.expect("read audit")
}

pub(crate) fn assert_chains_intact(events: &[AuditEvent]) {
    let mut prev: Option<&AuditEvent> = None;
    for ev in events {
        let before = prev.filter(|p| p.connector_id == ev.connector_id);
        assert_eq!(check_link(before, ev), vec![], "chain broken at {} seq {}", ev.connector_id, ev.seq);
        prev = Some(ev);
    }
}

#[test]
fn ten_thousand_connectors_cost_only_the_due_reads() {
    let s = Stack::new("scale");
    let inventory = s.sample(10_000, 12, 0);
    let imported = s.json(&["inventory", "import", &inventory]);
    assert_eq!(imported["summary"]["created"], 10_000);

    let report = s.json(&["scan", "--dry-run", "--now", NOW]);
    assert_eq!(report["due"], 12);
    assert_eq!(report["urgent"], 0);
    assert_eq!(report["invalid"], 0);
    let items_read = report["items_read"].as_u64().expect("items_read");
    let pages = report["pages"].as_u64().expect("pages");
    assert!(
        items_read >= 12 && items_read <= 12 + pages,
        "read {items_read} items in {pages} pages for 12 due of 10,000"
    );
    let covered: usize =
        report["changes"].as_array().unwrap().iter().map(|c| c["connector_ids"].as_array().unwrap().len()).sum();
    assert_eq!(covered, 12);
    assert!(report["changes"].as_array().unwrap().iter().all(|c| c["outcome"] == "planned"));
}

/// The due query follows DynamoDB's pages to the end: with five items a
/// page, twelve due connectors take three pages and every one is found.
#[tokio::test(flavor = "multi_thread")]
async fn the_due_query_reads_every_page() {
    use keyturn_app::ports::Inventory;
    let s = Stack::new("pages");
    let inventory = s.sample(200, 12, 0);
    s.ok(&["inventory", "import", &inventory]);
    let store = keyturn_aws::DynamoInventory::new(aws_sdk_dynamodb::Client::new(&s.sdk().await), &s.tables.connectors)
        .with_page_limit(5);
    let now = keyturn_domain::timefmt::parse_instant(NOW).expect("NOW");
    let due = store.due(now + time::Duration::days(45)).await.expect("due query");
    let ids: BTreeSet<String> = due.items.iter().map(|c| c.id.to_string()).collect();
    assert_eq!((ids.len(), due.items_read), (12, 12), "every due item once, nothing else read");
    assert!(due.pages >= 3, "{} pages", due.pages);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_writes_nothing_and_a_second_scan_starts_nothing_new() {
    let s = Stack::new("twice");
    let inventory = s.sample(300, 8, 2);
    s.ok(&["inventory", "import", &inventory]);

    let dry = s.json(&["scan", "--dry-run", "--now", NOW]);
    assert_eq!((dry["due"].as_u64(), dry["urgent"].as_u64()), (Some(10), Some(2)));
    let planned = change_ids(&dry);
    let before = executions(&s).await;
    assert!(planned.iter().all(|id| !before.contains_key(id)), "a dry run starts nothing");
    assert!(audit(&s).await.is_empty(), "a dry run audits nothing");

    let first = s.json(&["scan", "--now", NOW]);
    assert_eq!(change_ids(&first), planned, "the dry run planned exactly what the scan did");
    assert!(first["changes"].as_array().unwrap().iter().all(|c| c["outcome"] == "started"), "{first}");
    let urgent: Vec<&Value> = first["changes"].as_array().unwrap().iter().filter(|c| c["urgent"] == true).collect();
    assert!(!urgent.is_empty());
    assert!(urgent.iter().all(|c| c.get("window").is_none()), "urgent changes do not wait for a window");

    let second = s.json(&["scan", "--now", NOW]);
    assert_eq!(second["changes"], serde_json::json!([]), "{second}");
    assert_eq!(second["skipped"], 10, "all ten are held by the first scan's changes");

    // Tomorrow's scan would group them into changes with new ids: the
    // connectors' leases keep them out of a second change.
    let tomorrow = s.json(&["scan", "--now", "2026-11-25T09:00:00Z"]);
    assert_eq!(
        (tomorrow["changes"].as_array().map(Vec::len), &tomorrow["skipped"]),
        (Some(0), &10.into()),
        "{tomorrow}"
    );

    let after = executions(&s).await;
    for id in &planned {
        assert_eq!(after.get(id), Some(&1), "exactly one execution for {id}");
    }

    let events = audit(&s).await;
    let detected: Vec<&AuditEvent> = events.iter().filter(|e| e.event == "detected").collect();
    assert_eq!(detected.len(), 10, "one detected event per due connector, not per scan");
    let connectors: BTreeSet<&str> = detected.iter().map(|e| e.connector_id.as_str()).collect();
    assert_eq!(connectors.len(), 10);
    assert!(detected.iter().all(|e| e.change_id.as_ref().is_some_and(|c| planned.contains(c))));
    assert_chains_intact(&events);

    // A lease nobody gave back lapses (14 days) and the next scan opens a new
    // change for the keys still due.
    let later = s.json(&["scan", "--now", "2026-12-09T09:00:00Z"]);
    let reclaimed = change_ids(&later);
    assert!(!reclaimed.is_empty() && reclaimed.iter().all(|id| !planned.contains(id)), "{later}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connector_left_rotating_by_a_dead_change_is_repaired_and_rotated_again() {
    let s = Stack::new("wedged");
    let inventory = s.sample(6, 2, 0);
    s.ok(&["inventory", "import", &inventory]);
    let listed = s.json(&["inventory", "list", "--due-within", "45", "--now", NOW]);
    let victim = listed[0]["id"].as_str().expect("a due connector").to_owned();
    // A rotation whose execution died: `rotating`, held by a change with no live execution.
    let dead = "chg-20261101-00000000deadbeef";
    let dynamodb = aws_sdk_dynamodb::Client::new(&s.sdk().await);
    dynamodb
        .update_item()
        .table_name(&s.tables.connectors)
        .key("connector_id", AttributeValue::S(victim.clone()))
        .update_expression("SET #st = :r, active_change = :c, lease_until = :u")
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":r", AttributeValue::S("rotating".into()))
        .expression_attribute_values(":c", AttributeValue::S(dead.into()))
        .expression_attribute_values(":u", AttributeValue::S("2026-12-30T00:00:00Z".into()))
        .send()
        .await
        .unwrap();

    let report = s.json(&["scan", "--now", NOW]);
    let repaired = report["repaired"].as_array().expect("a repair");
    assert_eq!(repaired.len(), 1, "{report}");
    assert_eq!(
        (&repaired[0]["connector_id"], &repaired[0]["was"], &repaired[0]["execution"]),
        (&Value::from(victim.as_str()), &Value::from("rotating"), &Value::from("missing"))
    );
    let in_a_change = report["changes"].as_array().unwrap().iter().any(|c| {
        c["outcome"] == "started" && c["connector_ids"].as_array().unwrap().iter().any(|id| id == victim.as_str())
    });
    assert!(in_a_change, "repaired and rotated in the same scan: {report}");
    let alerts = report["alerts"].as_array().expect("the repair is told");
    assert!(
        alerts
            .iter()
            .any(|a| a.as_str().is_some_and(|a| a.starts_with(&format!("repaired {dead} → ")) && a.contains("slack"))),
        "the group's escalation channel hears of it: {alerts:?}"
    );
    let events = audit(&s).await;
    let ev = events.iter().find(|e| e.event == "repaired").expect("the repair is audited");
    assert_eq!((ev.connector_id.as_str(), ev.change_id.as_deref()), (victim.as_str(), Some(dead)));

    // Its new change is running: nothing more to repair.
    let again = s.json(&["scan", "--now", NOW]);
    assert!(again.get("repaired").is_none(), "{again}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_stored_item_is_audited_as_invalid_and_the_rest_go_on() {
    let s = Stack::new("baditem");
    let inventory = s.sample(20, 3, 0);
    s.ok(&["inventory", "import", &inventory]);
    let listed = s.json(&["inventory", "list", "--due-within", "45", "--now", NOW]);
    let victim = listed[0]["id"].as_str().expect("a due connector").to_owned();
    let unrouted = listed[1]["id"].as_str().expect("a second due connector").to_owned();

    // Someone edits items in the console: one breaks, one names an approver
    // group nobody put in the approver routing.
    let dynamodb = aws_sdk_dynamodb::Client::new(&s.sdk().await);
    for (id, field, value) in [(&victim, "owner", "nobody"), (&unrouted, "approver_group", "cab-nobody-routes")] {
        dynamodb
            .update_item()
            .table_name(&s.tables.connectors)
            .key("connector_id", AttributeValue::S(id.clone()))
            .update_expression("SET #f = :v")
            .expression_attribute_names("#f", field)
            .expression_attribute_values(":v", AttributeValue::S(value.into()))
            .send()
            .await
            .expect("edit item");
    }

    let report = s.json(&["scan", "--now", NOW]);
    assert_eq!((report["due"].as_u64(), report["invalid"].as_u64()), (Some(1), Some(2)), "{report}");
    let invalid_records = report["invalid_records"].as_array().expect("invalid_records");
    let why = |id: &str| {
        let record = invalid_records.iter().find(|r| r["connector_id"] == id).unwrap_or_else(|| panic!("{report}"));
        record["errors"][0].as_str().expect("error").to_owned()
    };
    assert!(why(&victim).contains("owner"));
    assert!(why(&unrouted).starts_with("approver_group: \"cab-nobody-routes\" is not in the approver routing"));
    let changes = report["changes"].as_array().expect("changes");
    assert!(changes.iter().all(|c| c["outcome"] == "started"));
    assert!(changes.iter().all(|c| c["connector_ids"].as_array().unwrap().iter().all(|id| id != unrouted.as_str())));

    let events = audit(&s).await;
    let invalid: Vec<&AuditEvent> = events.iter().filter(|e| e.event == "invalid").collect();
    assert_eq!(invalid.len(), 2);
    let of = |id: &str| invalid.iter().find(|e| e.connector_id.as_str() == id).expect("audited");
    assert!(of(&victim).detail["errors"].contains("owner: \"nobody\" is not an email address"));
    assert!(of(&unrouted).detail["errors"].contains("cab-nobody-routes"));
    assert_chains_intact(&events);
}

/// Step Functions answers `ExecutionAlreadyExists` when another scanner (or
/// a retried Lambda) started the change first: "already running", not an error.
#[tokio::test(flavor = "multi_thread")]
async fn a_change_whose_execution_exists_is_already_running() {
    let s = Stack::new("exists");
    let inventory = s.sample(20, 2, 1);
    s.ok(&["inventory", "import", &inventory]);
    let planned = change_ids(&s.json(&["scan", "--dry-run", "--now", NOW]));
    assert!(planned.len() >= 2, "{planned:?}");
    let sfn = aws_sdk_sfn::Client::new(&s.sdk().await);
    // Its input is not a change: the execution fails at once, its name stays taken.
    sfn.start_execution()
        .state_machine_arn(STATE_MACHINE_ARN)
        .name(&planned[0])
        .input("{}")
        .send()
        .await
        .expect("start the first execution by hand");

    let report = s.json(&["scan", "--now", NOW]);
    assert!(report["errors"].as_array().is_some_and(Vec::is_empty), "{report}");
    let outcome = |id: &str| {
        let c = report["changes"].as_array().unwrap().iter().find(|c| c["change_id"] == id).expect("reported");
        c["outcome"].as_str().expect("outcome").to_owned()
    };
    assert_eq!(outcome(&planned[0]), "already_running", "{report}");
    let after = executions(&s).await;
    for id in &planned[1..] {
        assert_eq!(outcome(id), "started", "{report}");
        assert_eq!(after.get(id), Some(&1));
    }
    assert_eq!(after.get(&planned[0]), Some(&1), "the hand-started one only");
}

#[test]
fn a_real_scan_needs_a_state_machine_and_says_so() {
    let s = Stack::new("nosm");
    let out = s.keyturn_env(&["scan"], &[("KEYTURN_STATE_MACHINE_ARN", "")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("KEYTURN_STATE_MACHINE_ARN is not set"));
}
