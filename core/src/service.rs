//! Services wired to AWS: what a Lambda main (or the CLI) builds once.

use time::OffsetDateTime;

use crate::aws::{sdk_config, DynamoAuditLog, DynamoChangeStore, DynamoInventory, SfnWorkflow};
use crate::config::{Config, ConfigError};
use crate::ports::StoreError;
use crate::scanner::{self, ScanPorts, ScanReport, ScanSettings};

/// The scanner with its adapters, built once per Lambda sandbox.
pub struct Scanner {
    inventory: DynamoInventory,
    changes: DynamoChangeStore,
    audit: DynamoAuditLog,
    /// `None` when no state machine is configured: only dry runs are possible.
    workflow: Option<SfnWorkflow>,
    settings: ScanSettings,
}

/// Why a scan could not run at all (a per-change failure is in the report instead).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("KEYTURN_STATE_MACHINE_ARN is not set; it is needed to start workflows (a dry run does without)")]
    NoStateMachine,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Scanner {
    pub fn new(sdk: &aws_config::SdkConfig, cfg: &Config) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        Self {
            inventory: DynamoInventory::new(dynamodb.clone(), &cfg.tables.connectors),
            changes: DynamoChangeStore::new(dynamodb.clone(), &cfg.tables.changes),
            audit: DynamoAuditLog::new(dynamodb, &cfg.tables.audit),
            workflow: cfg.state_machine_arn.as_ref().map(|arn| SfnWorkflow::new(aws_sdk_sfn::Client::new(sdk), arn)),
            settings: ScanSettings::from(cfg),
        }
    }

    /// For the Lambda: every configuration problem at once, state machine required.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let cfg = Config::from_env()?;
        if cfg.state_machine_arn.is_none() {
            return Err(ConfigError { problems: vec!["KEYTURN_STATE_MACHINE_ARN: required by the scanner".into()] });
        }
        Ok(Self::new(&sdk_config().await, &cfg))
    }

    /// One scan at `now`: writes audit events and starts workflows.
    pub async fn scan(&self, now: OffsetDateTime) -> Result<ScanReport, ScanError> {
        let workflow = self.workflow.as_ref().ok_or(ScanError::NoStateMachine)?;
        let plan = scanner::plan(&self.inventory, &self.settings, now).await?;
        let ports = ScanPorts { inventory: &self.inventory, changes: &self.changes, audit: &self.audit, workflow };
        Ok(scanner::execute(&plan, ports, &self.settings).await)
    }

    /// What a scan at `now` would do; writes nothing.
    pub async fn dry_run(&self, now: OffsetDateTime) -> Result<ScanReport, ScanError> {
        let plan = scanner::plan(&self.inventory, &self.settings, now).await?;
        Ok(scanner::dry_run_report(&plan))
    }
}
