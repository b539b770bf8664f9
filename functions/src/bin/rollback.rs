//! rollback alone, for `cargo lambda watch` (it runs a function by binary name).
//! Deployed, it is `keyturn-lambda` with `KEYTURN_FUNCTION=rollback`.

fn main() -> std::process::ExitCode {
    keyturn_functions::Function::Rollback.main()
}
