//! rotate, verify, finalize, rollback: the rotation Map iteration's steps, one
//! shape for all four. Input and output: the iteration's state (ids, version
//! ids and fingerprints; never key material). See keyturn_app::rotation.

/// The whole `main` of a rotation step function: state built once, every log
/// line inside the handler carrying the change and connector ids, errors by
/// their stable names, metrics per outcome.
pub async fn run(step: keyturn_aws::service::Step) -> Result<(), lambda_runtime::Error> {
    use keyturn_app::rotation::StepInput;
    use tracing::Instrument;

    crate::init_tracing();
    let rotator = keyturn_aws::service::Rotator::from_env().await.map_err(crate::FunctionError::from)?;
    let rotator = &rotator;
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<StepInput>| async move {
        let input = event.payload;
        let span = tracing::info_span!("step", step = step.name(), change_id = %input.change_id, connector_id = %input.connector_id);
        let started = std::time::Instant::now();
        let (result, calls) =
            rotator.run(step, &input, time::OffsetDateTime::now_utc()).instrument(span.clone()).await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let _entered = span.enter();
        emit_call_metrics(step, &input, &calls);
        match &result {
            Ok(out) => {
                let outcome = out.get("outcome").and_then(|o| o.as_str()).unwrap_or("ok");
                tracing::info!(outcome, "step done");
                let mut metrics = vec![("StepLatency", ms, "Milliseconds")];
                match (step, outcome) {
                    // The retire pass (same function) is not a second rotation.
                    (keyturn_aws::service::Step::Finalize, "rotated") if input.retire.is_none() => {
                        metrics.push(("RotationSucceeded", 1.0, "Count"));
                        if let Some(s) = out.get("time_to_rotate_seconds").and_then(|v| v.as_f64()) {
                            metrics.push(("TimeToRotate", s, "Seconds"));
                        }
                    }
                    (keyturn_aws::service::Step::Rollback, "rolled_back") => {
                        metrics.extend([("RotationFailed", 1.0, "Count"), ("RotationRolledBack", 1.0, "Count")])
                    }
                    (keyturn_aws::service::Step::Rollback, _) => {
                        metrics.extend([("RotationFailed", 1.0, "Count"), ("RollbackFailed", 1.0, "Count")])
                    }
                    _ => {}
                }
                emit(step, &input, &metrics);
            }
            Err(e) => {
                tracing::error!(error = %e, error_type = e.name().as_str(), "step failed");
                let mut metrics = vec![("StepFailed", 1.0, "Count")];
                if e.name() == keyturn_domain::ErrorName::VerificationFailed {
                    metrics.push(("VerificationFailed", 1.0, "Count"));
                }
                emit(step, &input, &metrics);
            }
        }
        result.map_err(crate::FunctionError::from)
    }))
    .await
}

/// The SCIM SLIs from a step's vendor and identity-provider calls, counted
/// per answer (a 429 that a retry got past still counts as a throttle).
fn emit_call_metrics(
    step: keyturn_aws::service::Step,
    input: &keyturn_app::rotation::StepInput,
    calls: &keyturn_app::rotation::calls::CallStats,
) {
    if calls.calls == 0 {
        return;
    }
    let count = |n: u32| serde_json::Value::from(n);
    crate::emit_metric_values(
        &[("Step", step.name())],
        &ids(input),
        &[
            ("ApiCalls", count(calls.calls), "Count"),
            ("AuthFailures", count(calls.auth_failures), "Count"),
            ("Throttles", count(calls.throttles), "Count"),
            ("ServerErrors", count(calls.server_errors), "Count"),
            ("Retries", count(calls.retries), "Count"),
            // EMF takes at most 100 values per metric in one line.
            ("ApiLatency", calls.latencies_ms.iter().take(100).copied().collect(), "Milliseconds"),
        ],
    );
}

/// One EMF line for the step, its change and connector beside the metrics.
fn emit(step: keyturn_aws::service::Step, input: &keyturn_app::rotation::StepInput, metrics: &[(&str, f64, &str)]) {
    let values: Vec<(&str, serde_json::Value, &str)> = metrics.iter().map(|(n, v, u)| (*n, (*v).into(), *u)).collect();
    crate::emit_metric_values(&[("Step", step.name())], &ids(input), &values);
}

fn ids(input: &keyturn_app::rotation::StepInput) -> [(&'static str, &str); 2] {
    [("change_id", input.change_id.as_str()), ("connector_id", input.connector_id.as_str())]
}
