"""Python twin of functions/approval-callback, for `make bench` only: a GET of
a signed link, with the same calls as the Rust function: the signing keys
from Secrets Manager (AWSCURRENT and AWSPREVIOUS), the HMAC check in
constant time, the expiry, the change record (GetItem), then the page with
the same security headers.
"""

import base64
import hashlib
import hmac
import html
import os
import time

import boto3

prefix = os.environ.get("KEYTURN_TABLE_PREFIX", "keyturn-")
secret_id = os.environ.get("KEYTURN_SIGNING_KEY_SECRET", "keyturn/link-signing-key")
sm = boto3.client("secretsmanager")
changes = boto3.resource("dynamodb").Table(prefix + "changes")
HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
}


def b64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def keys():
    ring = {}
    for stage in ("AWSCURRENT", "AWSPREVIOUS"):
        try:
            out = sm.get_secret_value(SecretId=secret_id, VersionStage=stage)
        except sm.exceptions.ResourceNotFoundException:
            continue
        ring[out["VersionId"]] = bytes.fromhex(out["SecretString"].strip())
    return ring


def page(status, title, body):
    text = f'<!doctype html><html lang="en"><title>{html.escape(title)}</title><main><h1>{html.escape(title)}</h1>{body}</main></html>'
    return {"statusCode": status, "headers": HEADERS, "body": text}


def handler(event, context):
    token = (event.get("queryStringParameters") or {}).get("t", "")
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != "v1":
        return page(400, "This link is damaged", "")
    _, kid, body, tag = parts
    key = keys().get(kid)
    if key is None:
        return page(403, "This link is not valid", "")
    mac = hmac.new(key, b"keyturn-link-v1\n" + kid.encode() + b"\n" + body.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(mac, b64(tag)):
        return page(403, "This link is not valid", "")
    change_id, approver, decision, expires, _nonce, _connector = b64(body).decode().split("\n")
    if time.time() > int(expires):
        return page(410, "This link has expired", "")
    record = changes.get_item(Key={"change_id": change_id}, ConsistentRead=True).get("Item")
    if record is None:
        return page(404, "Unknown change", f"<p>keyturn has no change <code>{html.escape(change_id)}</code>.</p>")
    return page(200, f"{decision.title()} change {change_id}?", f"<p>You are <strong>{html.escape(approver)}</strong>.</p>")
