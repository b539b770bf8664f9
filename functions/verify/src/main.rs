//! verify: prove provisioning works with the new key (retries with backoff).
//! Input and output: the rotation Map iteration's state (ids, version ids and
//! fingerprints; never key material). See keyturn_core::rotation.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    keyturn_lambda::rotation_step(keyturn_core::service::Step::Verify).await
}
