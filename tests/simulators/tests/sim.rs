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

    http.put(format!("{url}/_sim/okta/apps/a1")).json(&json!({"status": "UNKNOWN"})).send().await.unwrap();
    let answer: Value = http
        .post(format!("{url}/okta/api/v1/apps/a1/connections/default?activate=true"))
        .header("authorization", "SSWS x")
        .json(&json!({"profile": {"authScheme": "TOKEN", "token": "t"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], "UNKNOWN");
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
        .json(&json!({"fields": {"summary": "urgent"}}))
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
