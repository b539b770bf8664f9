//! rotate, verify, finalize, rollback: the rotation Map iteration's steps, one
//! shape for all four. Input and output: the iteration's state (ids, version
//! ids and fingerprints; never key material). See keyturn_core::rotation.

/// The whole `main` of a rotation step function: state built once, every log
/// line inside the handler carrying the change and connector ids, errors by
/// their stable names, metrics per outcome.
pub async fn run(step: keyturn_core::service::Step) -> Result<(), lambda_runtime::Error> {
    use keyturn_core::rotation::StepInput;
    use tracing::Instrument;

    crate::init_tracing();
    let rotator = keyturn_core::service::Rotator::from_env().await.map_err(crate::FunctionError::from)?;
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
                crate::emit_metrics(&[("Step", step.name())], &metrics);
            }
            Err(e) => {
                tracing::error!(error = %e, error_type = e.name(), "step failed");
                let mut metrics = vec![("StepFailed", 1.0, "Count")];
                match e.name() {
                    "VerificationFailed" => metrics.push(("AuthFailures", 1.0, "Count")),
                    "VendorThrottled" => metrics.push(("Throttles", 1.0, "Count")),
                    _ => {}
                }
                crate::emit_metrics(&[("Step", step.name())], &metrics);
            }
        }
        result.map_err(crate::FunctionError::from)
    }))
    .await
}
