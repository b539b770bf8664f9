//! The simulators behave like the vendors where keyturn depends on it.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};

async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(keyturn_sim::serve(listener));
    url
}

#[tokio::test]
async fn regenerating_a_scim_key_kills_the_old_one_and_faults_come_and_go() {
    let url = start().await;
    let http = reqwest::Client::new();
    http.put(format!("{url}/_sim/atlassian/directories/d1"))
        .json(&json!({"key": "old-key-secret-value"}))
        .send()
        .await
        .unwrap();
    let users =
        |key: String| http.get(format!("{url}/scim/directory/d1/Users?startIndex=1&count=1")).bearer_auth(key).send();
    assert_eq!(users("old-key-secret-value".into()).await.unwrap().status(), 200);

    let new: Value = http
        .post(format!("{url}/_sim/atlassian/directories/d1/regenerate"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new = new["key"].as_str().unwrap().to_owned();
    assert_eq!(users("old-key-secret-value".into()).await.unwrap().status(), 401, "the old key dies at once");
    assert_eq!(users(new.clone()).await.unwrap().status(), 200);

    http.post(format!("{url}/_sim/faults"))
        .json(&json!({"path_prefix": "/scim/", "status": 429, "retry_after": 3, "times": 1}))
        .send()
        .await
        .unwrap();
    let throttled = users(new.clone()).await.unwrap();
    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["retry-after"], "3");
    assert_eq!(users(new.clone()).await.unwrap().status(), 200, "a fault lasts `times` requests");

    let log = http.get(format!("{url}/_sim/requests")).send().await.unwrap().text().await.unwrap();
    assert!(!log.contains(&new) && !log.contains("old-key-secret-value"), "the request log holds no keys");
}

#[tokio::test]
async fn entra_validates_candidates_against_the_directory_and_okta_can_refuse_tokens() {
    let url = start().await;
    let http = reqwest::Client::new();
    http.put(format!("{url}/_sim/atlassian/directories/d1"))
        .json(&json!({"key": "good-key-1234567890"}))
        .send()
        .await
        .unwrap();
    let base = format!("{url}/scim/directory/d1");
    let validate = |token: &str| {
        http.post(format!("{url}/graph/v1.0/servicePrincipals/sp/synchronization/jobs/j/validateCredentials"))
            .bearer_auth("sim-graph-token")
            .json(&json!({"useSavedCredentials": false, "credentials": [{"key": "BaseAddress", "value": base}, {"key": "SecretToken", "value": token}]}))
            .send()
    };
    assert_eq!(validate("good-key-1234567890").await.unwrap().status(), 204);
    assert_eq!(validate("wrong-key").await.unwrap().status(), 400);

    // Okta documents token pushes for Org2Org and Zscaler 2.0 only.
    let push = |app: &str, body: Value| {
        http.post(format!("{url}/okta/api/v1/apps/{app}/connections/default?activate=true"))
            .header("authorization", "SSWS x")
            .json(&body)
            .send()
    };
    let documented = json!({"profile": {"authScheme": "TOKEN", "token": "t-0123456789"}});
    assert_eq!(push("a1", documented.clone()).await.unwrap().status(), 400, "not an Org2Org app");
    http.put(format!("{url}/_sim/okta/apps/o2o")).json(&json!({"org2org": true})).send().await.unwrap();
    assert_eq!(push("o2o", documented).await.unwrap().status(), 200);
    let top_level = json!({"authScheme": "TOKEN", "profile": {"authScheme": "TOKEN", "token": "t-0123456789"}});
    assert_eq!(push("o2o", top_level).await.unwrap().status(), 400, "no top-level authScheme in the schema");
}

#[tokio::test]
async fn undocumented_request_shapes_are_refused() {
    let url = start().await;
    let http = reqwest::Client::new();
    http.put(format!("{url}/_sim/atlassian/orgs/o1/keys/k-old"))
        .json(&json!({"key": "org-key-0123456789", "label": "CI"}))
        .send()
        .await
        .unwrap();
    let keys = format!("{url}/admin/api-access/v1/orgs/o1/api-keys");
    let auth = "org-key-0123456789";
    // Atlassian documents no create; DELETE is not its revoke.
    let create = http.post(&keys).bearer_auth(auth).json(&json!({"name": "x"})).send().await.unwrap();
    assert_eq!(create.status(), 400);
    assert_eq!(http.delete(format!("{keys}/k-old")).bearer_auth(auth).send().await.unwrap().status(), 400);
    assert_eq!(http.get(format!("{keys}?status=ACTIVE")).bearer_auth(auth).send().await.unwrap().status(), 400);
    // The documented list and revoke.
    let listed: Value = http.get(&keys).bearer_auth(auth).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["data"][0]["label"], "CI");
    assert!(listed["data"][0].get("name").is_none() && listed["data"][0].get("status").is_none());
    // A key made "in the console" works at once; revoking the old one stops it.
    let made: Value = http
        .post(format!("{url}/_sim/atlassian/orgs/o1/keys"))
        .json(&json!({"label": "new"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new = made["key"].as_str().unwrap();
    let revoke = http.patch(format!("{keys}/revoke/k-old")).bearer_auth(new).send().await.unwrap();
    assert_eq!(revoke.status(), 204);
    assert_eq!(http.get(&keys).bearer_auth(auth).send().await.unwrap().status(), 401, "the revoked key stops");

    // Graph restart: never Full (it includes the DO-NOT-USE scopes).
    let restart = |scope: &str| {
        http.post(format!("{url}/graph/v1.0/servicePrincipals/sp/synchronization/jobs/j/restart"))
            .bearer_auth("sim-graph-token")
            .json(&json!({"criteria": {"resetScope": scope}}))
            .send()
    };
    assert_eq!(restart("Full").await.unwrap().status(), 400);
    assert_eq!(restart("Nonsense").await.unwrap().status(), 400);
    assert_eq!(restart("QuarantineState").await.unwrap().status(), 204);

    // Slack refuses blocks over Block Kit's limits.
    let long = "x".repeat(3001);
    let big = json!({"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": long}}]});
    assert_eq!(http.post(format!("{url}/slack/T/B/x")).json(&big).send().await.unwrap().status(), 400);
}

#[tokio::test]
async fn slack_and_jira_capture_what_they_are_sent() {
    let url = start().await;
    let http = reqwest::Client::new();
    let ok = http.post(format!("{url}/slack/T0/B0/x")).json(&json!({"text": "hello"})).send().await.unwrap();
    assert_eq!(ok.text().await.unwrap(), "ok");
    assert_eq!(http.post(format!("{url}/slack/T0/B0/x")).body("{nope").send().await.unwrap().status(), 400);
    let slack: Value = http.get(format!("{url}/_sim/slack")).send().await.unwrap().json().await.unwrap();
    assert_eq!(slack[0]["body"]["text"], "hello");

    let unauthenticated =
        http.post(format!("{url}/jira/rest/api/2/issue")).json(&json!({"fields": {}})).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let created: Value = http
        .post(format!("{url}/jira/rest/api/2/issue"))
        .basic_auth("u", Some("t"))
        .json(&json!({"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "urgent"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap();
    let comment = http
        .post(format!("{url}/jira/rest/api/2/issue/{key}/comment"))
        .bearer_auth("t")
        .json(&json!({"body": "done"}))
        .send()
        .await
        .unwrap();
    assert_eq!(comment.status(), 201);
    let jira: Value = http.get(format!("{url}/_sim/jira")).send().await.unwrap().json().await.unwrap();
    assert_eq!(jira[0]["comments"][0], "done");
}

/// Every operation of the committed spec excerpt is served by the simulator
/// at its documented method and path, and answers its documented success
/// status to a documented request.
#[tokio::test]
async fn the_simulator_serves_the_documented_operations() {
    let url = start().await;
    let http = reqwest::Client::new();
    let spec: Value = serde_json::from_str(include_str!("../spec/operations.json")).unwrap();
    http.put(format!("{url}/_sim/atlassian/orgs/o1/keys/k1"))
        .json(&json!({"key": "org-key-0123456789"}))
        .send()
        .await
        .unwrap();
    http.put(format!("{url}/_sim/atlassian/orgs/o1/keys/k2"))
        .json(&json!({"key": "org-key-second-0123"}))
        .send()
        .await
        .unwrap();
    http.put(format!("{url}/_sim/atlassian/directories/d1"))
        .json(&json!({"key": "scim-key-0123456789"}))
        .send()
        .await
        .unwrap();
    for op in spec["operations"].as_array().unwrap() {
        let (vendor, method, path) =
            (op["vendor"].as_str().unwrap(), op["method"].as_str().unwrap(), op["path"].as_str().unwrap());
        let concrete = path
            .replace("{id}", "sp")
            .replace("{jobId}", "j")
            .replace("{appId}", "a1")
            .replace("{orgId}", "o1")
            .replace("{apiKeyId}", "k2");
        let (prefix, auth, body) = match vendor {
            "graph" => (
                "/graph/v1.0",
                "Bearer sim-graph-token",
                match path.rsplit('/').next().unwrap() {
                    "secrets" => {
                        json!({"value": [{"key": "BaseAddress", "value": format!("{url}/scim/directory/d1")}, {"key": "SecretToken", "value": "scim-key-0123456789"}]})
                    }
                    "validateCredentials" => json!({"useSavedCredentials": true}),
                    "restart" => json!({"criteria": {"resetScope": "QuarantineState"}}),
                    _ => Value::Null,
                },
            ),
            "okta" => ("/okta", "SSWS okta-token", Value::Null),
            "atlassian" => ("", "Bearer org-key-0123456789", Value::Null),
            "jira" => (
                "/jira",
                "Bearer jira-pat",
                json!({"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "s"}}),
            ),
            other => panic!("unknown vendor {other}"),
        };
        let mut req =
            http.request(method.parse().unwrap(), format!("{url}{prefix}{concrete}")).header("authorization", auth);
        if !body.is_null() {
            req = req.json(&body);
        }
        let status = req.send().await.unwrap().status().as_u16();
        assert_eq!(u64::from(status), op["success"].as_u64().unwrap(), "{method} {path} ({})", op["source"]);
    }
}
