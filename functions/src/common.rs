//! What every function shares: JSON tracing, EMF metrics, and errors whose
//! `errorType` is a stable name the state machine's `Retry`/`Catch` can match.

use keyturn_domain::ErrorName;
use lambda_runtime::Diagnostic;

/// A handler failure: `name` becomes the Lambda `errorType`.
#[derive(Debug)]
pub struct FunctionError {
    pub name: ErrorName,
    pub message: String,
}

impl FunctionError {
    pub fn new(name: ErrorName, message: impl Into<String>) -> Self {
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
        Diagnostic { error_type: e.name.as_str().to_owned(), error_message: e.message }
    }
}

impl From<keyturn_app::ports::StoreError> for FunctionError {
    fn from(e: keyturn_app::ports::StoreError) -> Self {
        let name = if e.retryable { ErrorName::StoreThrottled } else { ErrorName::StoreUnavailable };
        Self::new(name, e.to_string())
    }
}

impl From<keyturn_aws::service::ScanError> for FunctionError {
    fn from(e: keyturn_aws::service::ScanError) -> Self {
        match e {
            keyturn_aws::service::ScanError::Store(e) => e.into(),
            other => Self::new(ErrorName::ConfigInvalid, other.to_string()),
        }
    }
}

impl From<keyturn_app::config::ConfigError> for FunctionError {
    fn from(e: keyturn_app::config::ConfigError) -> Self {
        Self::new(ErrorName::ConfigInvalid, e.to_string())
    }
}

/// JSON logs on stdout (CloudWatch). The filter comes from `RUST_LOG` or
/// `AWS_LAMBDA_LOG_LEVEL`, `info` by default: a level, or `target=level`
/// pairs (`info,aws_smithy_runtime=debug`). `Targets` rather than
/// `EnvFilter`: its regex engine serves span and field filters nobody sets on
/// a Lambda, and with the Unicode IDNA tables (the `idna_adapter` pin) it was
/// 0.45 MB of the bootstrap (bench/README.md).
pub fn init_tracing() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let spec = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL").map(|l| l.to_lowercase()))
        .unwrap_or_default();
    let info = Targets::new().with_default(tracing::Level::INFO);
    let (filter, rejected) = match spec.trim() {
        "" => (info, None),
        s => s.parse::<Targets>().map_or_else(|e| (info, Some(e)), |t| (t, None)),
    };
    let json = tracing_subscriber::fmt::layer().json().with_current_span(false).with_ansi(false).with_target(false);
    tracing_subscriber::registry().with(filter).with(json).init();
    if let Some(e) = rejected {
        tracing::warn!(rust_log = %spec, error = %e, "log filter not understood; logging at info");
    }
}

/// One field of an `application/x-www-form-urlencoded` body, percent-decoded.
///
/// ```
/// assert_eq!(keyturn_functions::form_field(b"a=1&t=v1.k%2Ex&d=approve", "t").as_deref(), Some("v1.k.x"));
/// assert_eq!(keyturn_functions::form_field(b"a=1", "t"), None);
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

impl From<keyturn_app::rotation::RotationError> for FunctionError {
    fn from(e: keyturn_app::rotation::RotationError) -> Self {
        Self::new(e.name(), e.to_string())
    }
}

/// A CloudWatch Embedded Metric Format line (CloudWatch turns it into metrics;
/// no API call, no extra latency). Names follow the SCIM SLIs.
pub fn emit_metrics(dimensions: &[(&str, &str)], metrics: &[(&str, f64, &str)]) {
    let values: Vec<(&str, serde_json::Value, &str)> = metrics.iter().map(|(n, v, u)| (*n, (*v).into(), *u)).collect();
    emit_metric_values(dimensions, &[], &values);
}

/// [`emit_metrics`] where a metric may carry many values at once (an EMF
/// array: one per vendor call, for a latency distribution), with
/// `properties` beside them (searchable in the logs, not metric dimensions).
pub fn emit_metric_values(
    dimensions: &[(&str, &str)],
    properties: &[(&str, &str)],
    metrics: &[(&str, serde_json::Value, &str)],
) {
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
    for (k, v) in dimensions.iter().chain(properties) {
        line.insert((*k).into(), (*v).into());
    }
    for (n, v, _) in metrics {
        line.insert((*n).into(), v.clone());
    }
    println!("{}", serde_json::Value::Object(line));
}
