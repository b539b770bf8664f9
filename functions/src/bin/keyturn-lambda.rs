//! The bootstrap every keyturn Lambda function deploys: `KEYTURN_FUNCTION`
//! says which of the nine it is (see the crate docs for why one binary).

use std::process::ExitCode;

use keyturn_functions::Function;

fn main() -> ExitCode {
    match Function::from_env() {
        Ok(function) => function.main(),
        Err(e) => {
            eprintln!("keyturn-lambda: {e}");
            ExitCode::FAILURE
        }
    }
}
