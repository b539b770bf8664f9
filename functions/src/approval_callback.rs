//! approval-callback: the page behind every signed link (Lambda Function URL).
//! GET shows the change and a button; POST (the button) records the decision.
//! The link token is never logged.

use crate::{init_tracing, FunctionError};
use keyturn_app::approval::callback::{Method, Page};
use keyturn_aws::service::ApprovalCallback;
use keyturn_domain::SecretValue;
use lambda_http::http::{header, Method as HttpMethod};
use lambda_http::{service_fn, Body, Error, Request, RequestExt, Response};

pub async fn run() -> Result<(), Error> {
    init_tracing();
    let callback = ApprovalCallback::from_env().await.map_err(FunctionError::from)?;
    lambda_http::run(service_fn(|req: Request| handle(&callback, req))).await
}

async fn handle(callback: &ApprovalCallback, req: Request) -> Result<Response<Body>, Error> {
    let method = match *req.method() {
        HttpMethod::GET | HttpMethod::HEAD => Method::Get,
        HttpMethod::POST => Method::Post,
        _ => return respond(405, "<!doctype html><title>Method not allowed</title><p>Use the link or its button."),
    };
    let from_query = req.query_string_parameters_ref().and_then(|q| q.first("t")).map(str::to_owned);
    let token = match method {
        Method::Post => crate::form_field(req.body().as_ref(), "t").or(from_query),
        Method::Get => from_query,
    };
    // An intake form's pasted key: wrapped at once so it cannot be printed.
    let key = match method {
        Method::Post => crate::form_field(req.body().as_ref(), "key").map(SecretValue::new),
        Method::Get => None,
    };
    match callback.handle(method, token.as_deref(), key.as_ref(), time::OffsetDateTime::now_utc()).await {
        Ok(Page { status, outcome, html }) => {
            tracing::info!(outcome, status, method = ?method, "approval link");
            // A forged or damaged link is counted (an alarm can watch it); the
            // token itself is never logged.
            if matches!(outcome, "forged" | "malformed") {
                crate::emit_metrics(&[("Outcome", outcome)], &[("BadLinks", 1.0, "Count")]);
            }
            respond(status, &html)
        }
        Err(e) => {
            tracing::error!(error = %e, "approval link could not be handled");
            respond(
                503,
                "<!doctype html><html lang=\"en\"><title>Try again</title><main><h1>keyturn is briefly unavailable</h1>\
                 <p>Your answer may not have reached the workflow yet. Open the link again in a minute and press \
                 the button once more: an answer is never counted twice, and one that was recorded but not \
                 delivered is delivered then.</p></main></html>",
            )
        }
    }
}

/// Every page: not cached, not framed, no referrer (the URL carries the link token).
fn respond(status: u16, html: &str) -> Result<Response<Body>, Error> {
    Ok(Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::REFERRER_POLICY, "no-referrer")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::X_FRAME_OPTIONS, "DENY")
        .header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        )
        .body(Body::from(html.to_owned()))?)
}
