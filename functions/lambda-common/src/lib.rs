//! What every keyturn Lambda main shares, so each `main.rs` is a few lines of
//! the same shape: JSON tracing, and errors whose `errorType` is a stable name
//! the state machine's `Retry`/`Catch` can match.

use lambda_runtime::Diagnostic;

/// A handler failure: `name` becomes the Lambda `errorType`.
#[derive(Debug)]
pub struct FunctionError {
    pub name: &'static str,
    pub message: String,
}

impl FunctionError {
    pub fn new(name: &'static str, message: impl Into<String>) -> Self {
        Self { name, message: message.into() }
    }
}

impl std::fmt::Display for FunctionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for FunctionError {}

impl From<FunctionError> for Diagnostic {
    fn from(e: FunctionError) -> Self {
        Diagnostic { error_type: e.name.to_owned(), error_message: e.message }
    }
}

impl From<keyturn_core::ports::StoreError> for FunctionError {
    fn from(e: keyturn_core::ports::StoreError) -> Self {
        let name = if e.retryable { "StoreThrottled" } else { "StoreUnavailable" };
        Self::new(name, e.to_string())
    }
}

impl From<keyturn_core::service::ScanError> for FunctionError {
    fn from(e: keyturn_core::service::ScanError) -> Self {
        match e {
            keyturn_core::service::ScanError::Store(e) => e.into(),
            other => Self::new("ConfigInvalid", other.to_string()),
        }
    }
}

impl From<keyturn_core::config::ConfigError> for FunctionError {
    fn from(e: keyturn_core::config::ConfigError) -> Self {
        Self::new("ConfigInvalid", e.to_string())
    }
}

/// JSON logs on stdout (CloudWatch), level from `RUST_LOG` or
/// `AWS_LAMBDA_LOG_LEVEL`, `info` by default.
pub fn init_tracing() {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL").map(|l| l.to_lowercase()))
        .unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_current_span(false)
        .with_ansi(false)
        .with_target(false)
        .init();
}

/// One field of an `application/x-www-form-urlencoded` body, percent-decoded.
///
/// ```
/// assert_eq!(keyturn_lambda::form_field(b"a=1&t=v1.k%2Ex&d=approve", "t").as_deref(), Some("v1.k.x"));
/// assert_eq!(keyturn_lambda::form_field(b"a=1", "t"), None);
/// ```
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    let body = std::str::from_utf8(body).ok()?;
    body.split('&').filter_map(|pair| pair.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| percent_decode(v))
}

fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl From<keyturn_core::rotation::RotationError> for FunctionError {
    fn from(e: keyturn_core::rotation::RotationError) -> Self {
        Self::new(e.name(), e.to_string())
    }
}

/// A CloudWatch Embedded Metric Format line (CloudWatch turns it into metrics;
/// no API call, no extra latency). Names follow the SCIM SLIs.
pub fn emit_metrics(dimensions: &[(&str, &str)], metrics: &[(&str, f64, &str)]) {
    let now_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let mut line = serde_json::Map::new();
    let dims: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    line.insert(
        "_aws".into(),
        serde_json::json!({
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": "keyturn",
                "Dimensions": [dims],
                "Metrics": metrics.iter().map(|(n, _, u)| serde_json::json!({"Name": n, "Unit": u})).collect::<Vec<_>>(),
            }],
        }),
    );
    for (k, v) in dimensions {
        line.insert((*k).into(), (*v).into());
    }
    for (n, v, _) in metrics {
        line.insert((*n).into(), (*v).into());
    }
    println!("{}", serde_json::Value::Object(line));
}

/// The whole `main` of a rotation step function: state built once, every log
/// line inside the handler carrying the change and connector ids, errors by
/// their stable names, metrics per outcome.
pub async fn rotation_step(step: keyturn_core::service::Step) -> Result<(), lambda_runtime::Error> {
    use keyturn_core::rotation::StepInput;
    use tracing::Instrument;

    init_tracing();
    let rotator = keyturn_core::service::Rotator::from_env().await.map_err(FunctionError::from)?;
    let rotator = &rotator;
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<StepInput>| async move {
        let input = event.payload;
        let span = tracing::info_span!("step", step = step.name(), change_id = %input.change_id, connector_id = %input.connector_id);
        let started = std::time::Instant::now();
        let result = rotator.run(step, &input, time::OffsetDateTime::now_utc()).instrument(span.clone()).await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let _entered = span.enter();
        match &result {
            Ok(out) => {
                let outcome = out.get("outcome").and_then(|o| o.as_str()).unwrap_or("ok");
                tracing::info!(outcome, "step done");
                let mut metrics = vec![("StepLatency", ms, "Milliseconds")];
                match (step, outcome) {
                    (keyturn_core::service::Step::Finalize, "rotated") => {
                        metrics.push(("RotationSucceeded", 1.0, "Count"));
                        if let Some(s) = out.get("time_to_rotate_seconds").and_then(|v| v.as_f64()) {
                            metrics.push(("TimeToRotate", s, "Seconds"));
                        }
                    }
                    (keyturn_core::service::Step::Rollback, "rolled_back") => metrics.push(("RotationRolledBack", 1.0, "Count")),
                    (keyturn_core::service::Step::Rollback, _) => metrics.push(("RollbackFailed", 1.0, "Count")),
                    _ => {}
                }
                emit_metrics(&[("Step", step.name())], &metrics);
            }
            Err(e) => {
                tracing::error!(error = %e, error_type = e.name(), "step failed");
                let mut metrics = vec![("StepFailed", 1.0, "Count")];
                match e.name() {
                    "VerificationFailed" => metrics.push(("AuthFailures", 1.0, "Count")),
                    "VendorThrottled" => metrics.push(("Throttles", 1.0, "Count")),
                    _ => {}
                }
                emit_metrics(&[("Step", step.name())], &metrics);
            }
        }
        result.map_err(FunctionError::from)
    }))
    .await
}
