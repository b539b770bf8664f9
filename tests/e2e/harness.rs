//! Shared setup for the end-to-end tests: every test gets its own tables on
//! the one local stack (`make up`), and drives the real `keyturn` binary.

use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use keyturn_app::config::TableNames;
use serde_json::Value;

/// The local stack's endpoint: `AWS_ENDPOINT_URL` as `make test` exports it
/// (so a second checkout can run its stack on other ports), else the default.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into())
}
pub const STATE_MACHINE_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:keyturn-rotation";
/// The clock every scenario runs on (a Tuesday).
pub const NOW: &str = "2026-11-24T09:00:00Z";

/// One test's slice of the local stack.
pub struct Stack {
    /// Unique per test and per run: tables are `<prefix>connectors` etc., and
    /// sample connector ids start with it, so change ids (and so execution
    /// names on the shared state machine) never collide across tests or runs.
    pub prefix: String,
    pub tables: TableNames,
    pub dir: tempfile::TempDir,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);
static ROUTING: std::sync::OnceLock<()> = std::sync::OnceLock::new();

impl Stack {
    pub fn new(test: &str) -> Self {
        let endpoint = endpoint();
        let port: u16 = endpoint.rsplit(':').next().and_then(|p| p.trim_end_matches('/').parse().ok()).unwrap_or(4566);
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        assert!(
            TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok(),
            "the local stack is not running on {endpoint}: start it with `make up` (make test does)"
        );
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let prefix = format!(
            "t{}-{test}-{}-{}-",
            nanos % 1_000_000_000,
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let stack =
            Self { tables: TableNames::with_prefix(&prefix), prefix, dir: tempfile::tempdir().expect("tempdir") };
        stack.ok(&["dev", "setup"]);
        ROUTING.get_or_init(|| {
            // One routing for every test (scans alert and send digests through
            // it); its Slack webhooks point at this run's simulator.
            let text = include_str!("approvers.yaml").replace("http://127.0.0.1:4568", &crate::workflow::vendor_url());
            let file = stack.file("approvers.yaml", &text);
            stack.ok(&["approvers", "set", &file]);
        });
        stack
    }

    /// Runs `keyturn ARGS` against this test's tables.
    pub fn keyturn(&self, args: &[&str]) -> Output {
        self.keyturn_env(args, &[])
    }

    pub fn keyturn_env(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyturn"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_ENDPOINT_URL", endpoint())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("KEYTURN_CONNECTORS_TABLE", &self.tables.connectors)
            .env("KEYTURN_CHANGES_TABLE", &self.tables.changes)
            .env("KEYTURN_AUDIT_TABLE", &self.tables.audit)
            .env("KEYTURN_STATE_MACHINE_ARN", STATE_MACHINE_ARN);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd.output().expect("run keyturn")
    }

    /// Runs and insists on success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.keyturn(args);
        assert!(
            out.status.success(),
            "keyturn {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs with `--format json` appended and parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.extend(["--format", "json"]);
        let text = self.ok(&args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("keyturn {args:?} printed no JSON ({e}):\n{text}"))
    }

    /// Writes a file in this test's temp dir and returns its path.
    pub fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write file");
        path.display().to_string()
    }

    /// A generated inventory with ids under this test's prefix.
    pub fn sample(&self, total: usize, due: usize, expired: usize) -> String {
        let path = self.dir.path().join(format!("sample-{total}-{due}-{expired}.csv"));
        let path = path.display().to_string();
        let prefix = self.prefix.trim_end_matches('-');
        self.ok(&[
            "dev",
            "sample-inventory",
            "--total",
            &total.to_string(),
            "--due",
            &due.to_string(),
            "--expired",
            &expired.to_string(),
            "--prefix",
            prefix,
            "--now",
            NOW,
            "--out",
            &path,
        ]);
        path
    }

    pub async fn sdk(&self) -> aws_config::SdkConfig {
        sdk_config().await
    }
}

/// Same variables the binary gets, for direct checks on the stores.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sfn::config::Credentials::new("testing", "testing", None, None, "e2e"))
        .load()
        .await
}
