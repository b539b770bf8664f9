"""Python twin of functions/scanner, for `make bench` only: the same AWS calls
on the measured path (a daily scan whose due keys are all held by running
changes): the scan lock (conditional PutItem), the sparse expiry-index query
(paginated), the record checks and lease test per due item, the unlock
(conditional DeleteItem). It does *less* than the Rust scanner (no health
counts, no audit digest), so the Rust/Python ratios understate Rust's lead.
"""

import datetime as dt
import os
import secrets

import boto3
from boto3.dynamodb.conditions import Attr, Key

prefix = os.environ.get("KEYTURN_TABLE_PREFIX", "keyturn-")
dynamodb = boto3.resource("dynamodb")
connectors = dynamodb.Table(prefix + "connectors")
changes = dynamodb.Table(prefix + "changes")
DUE_DAYS = 45
REQUIRED = ("connector_id", "kind", "owner", "approver_group", "secret_arn", "expires_at")
LOCK = "#scan-lock:*"


def utc(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def handler(event, context):
    now = dt.datetime.now(dt.timezone.utc)
    token = secrets.token_hex(16)
    try:
        changes.put_item(
            Item={"change_id": LOCK, "lock_token": token, "lock_until": utc(now + dt.timedelta(minutes=10))},
            ConditionExpression=Attr("change_id").not_exists() | Attr("lock_until").lt(utc(now)),
        )
    except dynamodb.meta.client.exceptions.ConditionalCheckFailedException:
        return {"busy": True}
    report = {"due": 0, "urgent": 0, "invalid": 0, "skipped": 0, "items_read": 0, "pages": 0}
    try:
        kwargs = {
            "IndexName": "expiry-index",
            "KeyConditionExpression": Key("expiry_scope").eq("tracked")
            & Key("expires_at").lte(utc(now + dt.timedelta(days=DUE_DAYS))),
        }
        while True:
            page = connectors.query(**kwargs)
            report["pages"] += 1
            report["items_read"] += page["ScannedCount"]
            for item in page["Items"]:
                if any(not item.get(f) for f in REQUIRED):
                    report["invalid"] += 1
                    continue
                if item.get("status", "active") != "active" or (
                    item.get("active_change") and item.get("lease_until", "") > utc(now)
                ):
                    report["skipped"] += 1
                    continue
                report["due"] += 1
                if item["expires_at"] <= utc(now):
                    report["urgent"] += 1
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    finally:
        try:
            changes.delete_item(
                Key={"change_id": LOCK},
                ConditionExpression=Attr("lock_token").eq(token),
            )
        except dynamodb.meta.client.exceptions.ConditionalCheckFailedException:
            pass
    return report
