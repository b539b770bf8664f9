//! verify alone, for `cargo lambda watch` (it runs a function by binary name).
//! Deployed, it is `keyturn-lambda` with `KEYTURN_FUNCTION=verify`.

fn main() -> std::process::ExitCode {
    keyturn_functions::Function::Verify.main()
}
