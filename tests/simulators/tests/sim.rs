//! The simulators behave like the vendors where keyturn depends on it.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};

async fn start() -> String {
    keyturn_sim::spawn(keyturn_sim::Options::default()).await
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

/// Issue 20 item 14: the org API key listing pages as Atlassian's API Access
/// reference documents (`links.next` is the cursor of the next page) and its
/// items carry the documented fields, `scopes` among them.
#[tokio::test]
async fn org_keys_are_listed_in_documented_pages() {
    let url = start().await;
    let http = reqwest::Client::new();
    for id in ["k1", "k2", "k3"] {
        http.put(format!("{url}/_sim/atlassian/orgs/o1/keys/{id}"))
            .json(&json!({"key": format!("org-key-{id}-0123456789"), "label": id}))
            .send()
            .await
            .unwrap();
    }
    let list = |query: &str| {
        http.get(format!("{url}/admin/api-access/v1/orgs/o1/api-keys{query}"))
            .bearer_auth("org-key-k1-0123456789")
            .send()
    };
    let first: Value = list("?pageSize=2").await.unwrap().json().await.unwrap();
    assert_eq!(first["data"].as_array().unwrap().len(), 2, "{first}");
    assert!(first["data"][0]["scopes"].is_array() && first["data"][0]["expiresAt"].is_string(), "{first}");
    let next = first["links"]["next"].as_str().expect("a next page is linked");
    let last: Value = list(&format!("?pageSize=2&cursor={next}")).await.unwrap().json().await.unwrap();
    assert_eq!(last["data"][0]["label"], "k3", "{last}");
    assert!(last["links"]["next"].is_null(), "the last page links no further: {last}");
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

async fn start_with(options: keyturn_sim::Options) -> String {
    keyturn_sim::spawn(options).await
}

/// Entra's `validateCredentials` asks the SCIM endpoint it is given, not the
/// simulator's tables: a directory that only another server knows validates
/// with its key, and fails with any other.
#[tokio::test]
async fn entra_validates_credentials_by_calling_the_scim_endpoint_it_is_given() {
    let graph = start().await;
    let elsewhere = start().await;
    let http = reqwest::Client::new();
    http.put(format!("{elsewhere}/_sim/atlassian/directories/d9"))
        .json(&json!({"key": "key-only-elsewhere-123"}))
        .send()
        .await
        .unwrap();
    let validate = |base: String, token: &'static str| {
        http.post(format!("{graph}/graph/v1.0/servicePrincipals/sp/synchronization/jobs/j/validateCredentials"))
            .bearer_auth("sim-graph-token")
            .json(&json!({"credentials": [{"key": "BaseAddress", "value": base}, {"key": "SecretToken", "value": token}]}))
            .send()
    };
    let base = format!("{elsewhere}/scim/directory/d9");
    assert_eq!(validate(base.clone(), "key-only-elsewhere-123").await.unwrap().status(), 204);
    let refused = validate(base, "wrong-key").await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("HTTP 401"), "the endpoint's answer is the reason");
    let log: Value = http.get(format!("{elsewhere}/_sim/requests")).send().await.unwrap().json().await.unwrap();
    let asked = log.as_array().unwrap().iter().filter(|r| r["path"] == "/scim/directory/d9/Users").count();
    assert_eq!(asked, 2, "each validation is a real call: {log}");

    // Only loopback: nothing leaves the machine, whatever the request says.
    let outside = validate("https://scim.example.com/scim/directory/d9".into(), "key-only-elsewhere-123");
    assert_eq!(outside.await.unwrap().status(), 400);
    let userinfo = validate(format!("http://x@{}/scim/directory/d9", &elsewhere[7..]), "key-only-elsewhere-123");
    assert_eq!(userinfo.await.unwrap().status(), 400);

    // The saved credentials are validated the same way.
    let saved = json!({"value": [{"key": "BaseAddress", "value": format!("{elsewhere}/scim/directory/d9")},
                                 {"key": "SecretToken", "value": "key-only-elsewhere-123"}]});
    let put = http
        .put(format!("{graph}/graph/v1.0/servicePrincipals/sp/synchronization/secrets"))
        .bearer_auth("sim-graph-token")
        .json(&saved)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);
    let with_saved = http
        .post(format!("{graph}/graph/v1.0/servicePrincipals/sp/synchronization/jobs/j/validateCredentials"))
        .bearer_auth("sim-graph-token")
        .json(&json!({"useSavedCredentials": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(with_saved.status(), 204);
}

/// What the relay forwards, as a stand-in SCIM server saw it.
#[derive(Clone, Default)]
struct Seen(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

/// A stand-in for the independent SCIM server: answers `/{tenant}/v2/Users`
/// with a ListResponse, a charset and a header of its own, and records what
/// it was sent.
async fn stand_in(seen: Seen) -> String {
    use axum::extract::{Request, State};
    use axum::response::IntoResponse;
    async fn answer(State(seen): State<Seen>, req: Request) -> axum::response::Response {
        let auth = req.headers().get("authorization").is_some();
        let line = format!("{} {} auth={auth}", req.method(), req.uri());
        seen.0.lock().unwrap().push(line);
        let body =
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}"#;
        ([("content-type", "application/scim+json; charset=utf-8"), ("x-served-by", "stand-in")], body).into_response()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(answer).with_state(seen);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn a_relayed_directory_checks_the_key_and_passes_the_servers_answer_through_untouched() {
    let seen = Seen::default();
    let upstream = stand_in(seen.clone()).await;
    let url = start_with(keyturn_sim::Options { scim_upstream: Some(upstream) }).await;
    let http = reqwest::Client::new();
    let set = http
        .put(format!("{url}/_sim/atlassian/directories/d-ind"))
        .json(&json!({"key": "relay-key-1234567890", "upstream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    let users = |key: &'static str| {
        http.get(format!("{url}/scim/directory/d-ind/Users?startIndex=1&count=1"))
            .bearer_auth(key)
            .header("accept", "application/scim+json")
            .send()
    };
    assert_eq!(users("wrong-key").await.unwrap().status(), 401, "the relay checks the directory's key");
    assert!(seen.0.lock().unwrap().is_empty(), "a refused request never reaches the server");

    let ok = users("relay-key-1234567890").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["content-type"], "application/scim+json; charset=utf-8");
    assert_eq!(ok.headers()["x-served-by"], "stand-in");
    assert_eq!(
        ok.text().await.unwrap(),
        r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}"#,
        "the body is the server's, byte for byte"
    );
    assert_eq!(
        seen.0.lock().unwrap().as_slice(),
        ["GET /d-ind/v2/Users?startIndex=1&count=1 auth=false"],
        "mapped to the tenant's path, query kept, the key not forwarded"
    );

    // Without an upstream, a directory cannot be relayed.
    let plain = start().await;
    let refused = http
        .put(format!("{plain}/_sim/atlassian/directories/d-ind"))
        .json(&json!({"key": "relay-key-1234567890", "upstream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
}

/// Every operation of the transcribed list (the calls no published OpenAPI
/// description covers; the others are checked in tests/openapi.rs) is served
/// by the simulator at its documented method and path, and answers its
/// documented success status to a documented request.
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
    // Client-secret operations need seeded apps: tests/apps.rs serves those.
    for op in spec["operations"].as_array().unwrap().iter().filter(|op| op.get("kind").is_none()) {
        let (vendor, method, path) =
            (op["vendor"].as_str().unwrap(), op["method"].as_str().unwrap(), op["path"].as_str().unwrap());
        let concrete = path.replace("{orgId}", "o1").replace("{apiKeyId}", "k2").replace("{tenant}", "t1");
        let req = match vendor {
            "atlassian" => http
                .request(method.parse().unwrap(), format!("{url}{concrete}"))
                .header("authorization", "Bearer org-key-0123456789"),
            "entra-login" => http
                .request(method.parse().unwrap(), format!("{url}/login{concrete}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials&client_id=c&client_secret=s&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"),
            other => panic!("unknown vendor {other}"),
        };
        let status = req.send().await.unwrap().status().as_u16();
        assert_eq!(u64::from(status), op["success"].as_u64().unwrap(), "{method} {path} ({})", op["source"]);
    }
}
