//! keyturn's nine Lambda functions. Each module is one function's `run`: its
//! state built once from the environment, then the Lambda runtime loop. The
//! logic lives in keyturn-app (use cases) and keyturn-aws (the services a main builds once); these are the thin entry points.
//!
//! All nine ship as **one bootstrap**, `keyturn-lambda`, and each deployed
//! function picks its own with `KEYTURN_FUNCTION` (set by infra/). One
//! binary means one link-time-optimised link per architecture instead of
//! nine, one artifact to deploy, and every function on the same build; the
//! binary is still under the 8 MB target (bench/README.md). The per-function
//! binaries in `src/bin/` exist for `cargo lambda watch`, which runs a
//! function by its binary's name.
//!
//! ```
//! use keyturn_functions::Function;
//! assert_eq!("request-key".parse::<Function>().unwrap(), Function::RequestKey);
//! assert!("scaner".parse::<Function>().unwrap_err().to_string().contains("scanner"));
//! ```

mod approval_callback;
mod common;
mod notify;
mod request_approval;
mod request_key;
mod scanner;
mod step;

pub use common::{emit_metric_values, emit_metrics, form_field, init_tracing, FunctionError};

use std::process::ExitCode;

use keyturn_aws::service::Step;

/// The environment variable that names the function a bootstrap runs.
pub const FUNCTION_VAR: &str = "KEYTURN_FUNCTION";

/// A keyturn Lambda function, by the name infra/ gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Scanner,
    RequestApproval,
    ApprovalCallback,
    Notify,
    RequestKey,
    Rotate,
    Verify,
    Finalize,
    Rollback,
}

impl Function {
    pub const ALL: [Function; 9] = [
        Function::Scanner,
        Function::RequestApproval,
        Function::ApprovalCallback,
        Function::Notify,
        Function::RequestKey,
        Function::Rotate,
        Function::Verify,
        Function::Finalize,
        Function::Rollback,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::Scanner => "scanner",
            Function::RequestApproval => "request-approval",
            Function::ApprovalCallback => "approval-callback",
            Function::Notify => "notify",
            Function::RequestKey => "request-key",
            Function::Rotate => "rotate",
            Function::Verify => "verify",
            Function::Finalize => "finalize",
            Function::Rollback => "rollback",
        }
    }

    /// The function `KEYTURN_FUNCTION` names.
    pub fn from_env() -> Result<Function, UnknownFunction> {
        std::env::var(FUNCTION_VAR).unwrap_or_default().parse()
    }

    /// A binary's whole `main`: runs this function and, if it cannot start or
    /// its runtime loop ends in an error, says why on stderr (CloudWatch keeps
    /// it next to Lambda's `Runtime.ExitError`).
    pub fn main(self) -> ExitCode {
        match self.start() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("keyturn {}: {e}", self.name());
                ExitCode::FAILURE
            }
        }
    }

    /// Runs this function until the Lambda runtime stops it, on the runtime
    /// `#[tokio::main]` would build.
    pub fn start(self) -> Result<(), lambda_runtime::Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        runtime.block_on(async move {
            match self {
                Function::Scanner => scanner::run().await,
                Function::RequestApproval => request_approval::run().await,
                Function::ApprovalCallback => approval_callback::run().await,
                Function::Notify => notify::run().await,
                Function::RequestKey => request_key::run().await,
                Function::Rotate => step::run(Step::Rotate).await,
                Function::Verify => step::run(Step::Verify).await,
                Function::Finalize => step::run(Step::Finalize).await,
                Function::Rollback => step::run(Step::Rollback).await,
            }
        })
    }
}

impl std::str::FromStr for Function {
    type Err = UnknownFunction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Function::ALL.into_iter().find(|f| f.name() == s).ok_or_else(|| UnknownFunction(s.to_owned()))
    }
}

/// `KEYTURN_FUNCTION` is unset or names no function.
#[derive(Debug)]
pub struct UnknownFunction(pub String);

impl std::fmt::Display for UnknownFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = Function::ALL.iter().map(|f| f.name()).collect();
        match self.0.as_str() {
            "" => write!(f, "{FUNCTION_VAR} is not set; it names the function this bootstrap runs: ")?,
            other => write!(f, "{FUNCTION_VAR}={other:?} is not a keyturn function; it must be one of: ")?,
        }
        write!(f, "{}", names.join(", "))
    }
}

impl std::error::Error for UnknownFunction {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_parses_from_its_own_name_and_names_are_unique() {
        for f in Function::ALL {
            assert_eq!(f.name().parse::<Function>().unwrap(), f);
        }
        let mut names: Vec<&str> = Function::ALL.iter().map(|f| f.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Function::ALL.len());
    }

    #[test]
    fn an_unset_or_unknown_name_is_refused_naming_the_variable_and_the_choices() {
        let unset = "".parse::<Function>().unwrap_err().to_string();
        assert!(unset.starts_with("KEYTURN_FUNCTION is not set"), "{unset}");
        let typo = "Scanner".parse::<Function>().unwrap_err().to_string();
        assert!(typo.contains("KEYTURN_FUNCTION=\"Scanner\""), "{typo}");
        assert!(typo.contains("scanner, request-approval, approval-callback"), "{typo}");
    }
}
