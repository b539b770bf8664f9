//! rollback: restore what can be restored, mark needs_manual_intervention, tell on-call.
//! Input and output: the rotation Map iteration's state (ids, version ids and
//! fingerprints; never key material). See keyturn_core::rotation.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    keyturn_lambda::rotation_step(keyturn_core::service::Step::Rollback).await
}
