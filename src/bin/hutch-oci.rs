//! `hutch-oci`: the OCI runtime (runc's command line); see `hutch::oci`.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(hutch::oci::cli::main(std::env::args_os()))
}
