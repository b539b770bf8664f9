//! Email through SES (v2 API).

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_sdk_sesv2::Client;

use super::store_error;
use keyturn_app::approval::Email;
use keyturn_app::ports::{Mailer, StoreError};

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    from: String,
}

impl SesMailer {
    /// `from` must be a verified SES identity.
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        Self { client, from: from.into() }
    }
}

fn content(text: &str) -> Result<Content, StoreError> {
    Content::builder().data(text).charset("UTF-8").build().map_err(|e| StoreError {
        service: "sesv2",
        operation: "SendEmail",
        message: e.to_string(),
        retryable: false,
    })
}

impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<String, StoreError> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(Body::builder().text(content(&email.text)?).html(content(&email.html)?).build())
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(
                Destination::builder().set_to_addresses(Some(email.to.iter().map(|a| a.to_string()).collect())).build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| store_error("sesv2", "SendEmail", e))?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }
}
