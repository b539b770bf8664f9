//! rotate: stage the new key as AWSPENDING, pre-flight it, switch the identity provider.
//! Input and output: the rotation Map iteration's state (ids, version ids and
//! fingerprints; never key material). See keyturn_core::rotation.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    keyturn_lambda::rotation_step(keyturn_core::service::Step::Rotate).await
}
