//! Slack incoming webhooks.

use super::{http_error, transport};
use keyturn_app::approval::SlackWebhook;
use keyturn_app::ports::{Chat, StoreError};

pub use keyturn_domain::slack_escape;

#[derive(Debug, Clone)]
pub struct SlackChat {
    http: reqwest::Client,
}

impl SlackChat {
    pub fn new(http: reqwest::Client) -> Self {
        Self { http }
    }
}

impl Chat for SlackChat {
    async fn post(&self, hook: &SlackWebhook, payload: &serde_json::Value) -> Result<(), StoreError> {
        // Parsed again here (it was checked when the routing was loaded) so
        // the check sees exactly the URL the client sends to.
        let refuse = |why: String| http_error("slack", "webhook", None, &format!("refused destination {why}"));
        let url = keyturn_domain::destination::parse("slack_webhook", hook.url()).map_err(|e| refuse(e.to_string()))?;
        super::outbound::check_request("slack_webhook", &url).map_err(|e| refuse(e.to_string()))?;
        let resp = self
            .http
            .post(url)
            .json(payload)
            .send()
            .await
            .map_err(|e| http_error("slack", "webhook", None, &transport(&e)))?;
        let status = resp.status().as_u16();
        // Slack answers `200 ok`; errors come as 4xx with a short reason
        // (`invalid_blocks`, `no_service`), which is safe to report.
        if status == 200 {
            Ok(())
        } else {
            let body = super::vendor::bounded_text(resp, 4096).await.ok().flatten().unwrap_or_default();
            Err(http_error("slack", "webhook", Some(status), &body))
        }
    }
}
