//! Jira Cloud / Data Center REST v2: open an issue, comment on it.

use serde_json::json;

use super::{http_error, transport};
use keyturn_app::ports::{StoreError, Tickets};
use keyturn_domain::destination::{join, Part, Part::Lit, Part::Val};

/// How keyturn authenticates to Jira.
#[derive(Clone)]
pub enum JiraAuth {
    /// Jira Cloud: account email + API token.
    Basic { user: String, token: String },
    /// Data Center personal access token.
    Bearer(String),
}

impl std::fmt::Debug for JiraAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { user, .. } => write!(f, "Basic({user}, <redacted>)"),
            Self::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Jira {
    http: reqwest::Client,
    /// `https://acme.atlassian.net`
    base: String,
    project: String,
    issue_type: String,
    labels: Vec<String>,
    auth: JiraAuth,
}

impl Jira {
    pub fn new(http: reqwest::Client, base: &str, project: &str, auth: JiraAuth) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            project: project.to_owned(),
            issue_type: "Task".to_owned(),
            labels: vec!["keyturn".to_owned(), "urgent-rotation".to_owned()],
            auth,
        }
    }

    /// The issue type and labels tickets are opened with: projects differ
    /// (`KEYTURN_JIRA_ISSUE_TYPE`, `KEYTURN_JIRA_LABELS`).
    pub fn with_issue_shape(mut self, issue_type: &str, labels: &[String]) -> Self {
        issue_type.clone_into(&mut self.issue_type);
        self.labels = labels.to_vec();
        self
    }

    /// `{base}/rest/api/2/{path}`, checked as a destination keyturn may reach.
    fn request(&self, operation: &'static str, path: &[Part<'_>]) -> Result<reqwest::RequestBuilder, StoreError> {
        let refuse = |why: String| http_error("jira", operation, None, &format!("refused destination {why}"));
        let mut parts = vec![Lit("rest/api/2")];
        parts.extend_from_slice(path);
        let url = join("KEYTURN_JIRA_URL", &self.base, &parts).map_err(|e| refuse(e.to_string()))?;
        super::outbound::check_request("KEYTURN_JIRA_URL", &url).map_err(|e| refuse(e.to_string()))?;
        let req = self.http.post(url);
        Ok(match &self.auth {
            JiraAuth::Basic { user, token } => req.basic_auth(user, Some(token)),
            JiraAuth::Bearer(t) => req.bearer_auth(t),
        })
    }
}

impl Tickets for Jira {
    async fn open(&self, summary: &str, description: &str) -> Result<String, StoreError> {
        let mut body = json!({"fields": {
            "project": {"key": self.project},
            "issuetype": {"name": self.issue_type},
            "summary": summary,
            "description": description,
        }});
        // A project whose create screen lacks `labels` refuses the field: send it only when asked for.
        if !self.labels.is_empty() {
            body["fields"]["labels"] = json!(self.labels);
        }
        let resp = self
            .request("CreateIssue", &[Lit("issue")])?
            .json(&body)
            .send()
            .await
            .map_err(|e| http_error("jira", "CreateIssue", None, &transport(&e)))?;
        let status = resp.status().as_u16();
        let text =
            super::vendor::bounded_text(resp, super::vendor::MAX_BODY_BYTES).await.ok().flatten().unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err(http_error("jira", "CreateIssue", Some(status), &jira_says(&text)));
        }
        serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("key").and_then(|k| k.as_str()).map(str::to_owned))
            .ok_or_else(|| http_error("jira", "CreateIssue", Some(status), "answer has no issue key"))
    }

    async fn comment(&self, key: &str, text: &str) -> Result<(), StoreError> {
        let resp = self
            .request("AddComment", &[Lit("issue"), Val("issue key", key), Lit("comment")])?
            .json(&json!({"body": text}))
            .send()
            .await
            .map_err(|e| http_error("jira", "AddComment", None, &transport(&e)))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(http_error(
                "jira",
                "AddComment",
                Some(status),
                &jira_says(&super::vendor::bounded_text(resp, 4096).await.ok().flatten().unwrap_or_default()),
            ))
        }
    }
}

/// What Jira says is wrong: its documented error shape `{errorMessages: [],
/// errors: {field: message}}` as one line (e.g. `issuetype: valid issue type
/// is required`); another body as it came. Jira's errors name fields and
/// echo no credentials (keyturn sends them only in the header).
fn jira_says(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else { return body.trim().to_owned() };
    let mut parts: Vec<String> =
        v["errorMessages"].as_array().into_iter().flatten().filter_map(|m| m.as_str().map(str::to_owned)).collect();
    if let Some(fields) = v["errors"].as_object() {
        parts.extend(fields.iter().map(|(k, m)| format!("{k}: {}", m.as_str().unwrap_or_default())));
    }
    if parts.is_empty() {
        body.trim().to_owned()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::super::vendor::tests::answer;
    use super::*;

    #[test]
    fn an_issue_key_is_one_encoded_segment() {
        let j = Jira::new(reqwest::Client::new(), "https://acme.atlassian.net/", "KT", JiraAuth::Bearer("fake".into()));
        let req = j.request("AddComment", &[Lit("issue"), Val("issue key", "KT-1/../../../user?x"), Lit("comment")]);
        let url = req.unwrap().build().unwrap().url().clone();
        assert_eq!(url.as_str(), "https://acme.atlassian.net/rest/api/2/issue/KT-1%2F..%2F..%2F..%2Fuser%3Fx/comment");
        assert!(j.request("AddComment", &[Lit("issue"), Val("issue key", ".."), Lit("comment")]).is_err());
        let refused =
            Jira::new(reqwest::Client::new(), "https://localhost:@evil.example", "KT", JiraAuth::Bearer("x".into()));
        assert!(refused.request("CreateIssue", &[Lit("issue")]).is_err());
    }

    #[tokio::test]
    async fn the_issue_shape_is_configured_and_a_400_says_why() {
        let body = r#"{"errorMessages":[],"errors":{"issuetype":"Specify a valid issue type","labels":"Field 'labels' cannot be set."}}"#;
        let (url, req) = answer(400, &[("content-type", "application/json")], body).await;
        let jira = Jira::new(reqwest::Client::new(), &url, "OPS", JiraAuth::Bearer("jira-pat-0123456789".into()))
            .with_issue_shape("Incident", &[]);
        let err = jira.open("urgent", "text").await.unwrap_err().to_string();
        assert!(err.contains("issuetype: Specify a valid issue type"), "{err}");
        assert!(!err.contains("jira-pat-0123456789"), "{err}");
        let sent = req.await.unwrap();
        assert!(sent.contains(r#""issuetype":{"name":"Incident"}"#), "{sent}");
        assert!(!sent.contains("labels"), "no labels when none are configured: {sent}");
    }
}
