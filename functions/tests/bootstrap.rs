//! The deployed bootstrap, as Lambda starts it: a process with
//! `AWS_LAMBDA_RUNTIME_API` and the function's environment. Each of the nine
//! names must reach its own runtime loop (its first `GET .../invocation/next`);
//! anything else must fail at once, saying what `KEYTURN_FUNCTION` may be.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use keyturn_functions::Function;

const BOOTSTRAP: &str = env!("CARGO_BIN_EXE_keyturn-lambda");

/// A Runtime API that only reports the first request line it receives.
fn runtime_api() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local addr").to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            let mut line = String::new();
            let _ = BufReader::new(stream).read_line(&mut line);
            let _ = tx.send(line.trim_end().to_owned());
        }
    });
    (addr, rx)
}

/// What a deployed function has in its environment, pointing nowhere real:
/// initialisation must not need to reach AWS.
fn lambda_command(function: Option<&str>, api: &str) -> Command {
    let mut cmd = Command::new(BOOTSTRAP);
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "keyturn-test")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("KEYTURN_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:keyturn-rotation")
        .env("KEYTURN_APPROVAL_URL", "https://approve.keyturn.example/")
        .env("KEYTURN_EMAIL_FROM", "keyturn@keyturn.example")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(name) = function {
        cmd.env("KEYTURN_FUNCTION", name);
    }
    cmd
}

#[test]
fn every_function_name_starts_that_functions_runtime_loop() {
    for function in Function::ALL {
        let (api, first_request) = runtime_api();
        let mut child = lambda_command(Some(function.name()), &api).spawn().expect("spawn the bootstrap");
        let line = first_request.recv_timeout(Duration::from_secs(60));
        let _ = child.kill();
        let output = child.wait_with_output().expect("wait for the bootstrap");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            line.as_deref(),
            Ok("GET /2018-06-01/runtime/invocation/next HTTP/1.1"),
            "{}: did not reach its runtime loop; stderr: {stderr}",
            function.name()
        );
    }
}

#[test]
fn an_unset_or_unknown_function_fails_at_once_naming_the_choices() {
    for (value, expected) in [(None, "KEYTURN_FUNCTION is not set"), (Some("Scanner"), "KEYTURN_FUNCTION=\"Scanner\"")]
    {
        let (api, first_request) = runtime_api();
        let output = lambda_command(value, &api).output().expect("run the bootstrap");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{value:?}: exited successfully");
        assert!(stderr.contains(expected), "{value:?}: stderr was {stderr}");
        assert!(stderr.contains("scanner, request-approval, approval-callback, notify, request-key"), "{stderr}");
        assert!(first_request.try_recv().is_err(), "{value:?}: it talked to the Runtime API");
    }
}
