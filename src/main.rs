use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(hutch::cli::main(std::env::args_os()))
}
