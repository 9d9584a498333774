//! hutch's own failures at the command-line edge: one type over the modules' errors, the exit
//! status each maps to, and the single place where an error is rendered for a person.

use std::fmt::Write;

use crate::check::CheckError;
use crate::env::copy::CopyError;
use crate::env::join::JoinError;
use crate::env::EnvError;
use crate::image::ImageError;
use crate::profile::ProfileError;
use crate::sandbox::LaunchError;
use crate::spec::SpecError;
use crate::state::StateError;

/// The exit status for "hutch itself failed" (bad flag, bad profile, set-up error).
pub const HUTCH_FAILED: u8 = 125;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Launch(#[from] LaunchError),
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Join(#[from] JoinError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Copy(#[from] CopyError),
    #[error("cannot write output")]
    Output(#[source] std::io::Error),
    #[error(transparent)]
    Cgroup(#[from] crate::cgroup::CgroupError),
}

impl Error {
    pub fn exit_status(&self) -> u8 {
        match self {
            Error::Launch(e) => e.exit_status(),
            Error::Join(e) => e.exit_status(),
            Error::Image(e) => e.exit_status(),
            _ => HUTCH_FAILED,
        }
    }

    /// Output that failed only because its reader went away (`| head -1`): not a failure.
    pub fn reader_gone(&self) -> bool {
        matches!(self, Error::Output(e) if crate::output::reader_gone(e))
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Profile(e) => e.hint(),
            Error::Spec(e) => e.hint(),
            Error::Launch(e) => e.hint(),
            Error::Cgroup(e) => e.hint(),
            Error::Check(_) | Error::Output(_) => None,
            Error::State(e) => e.hint(),
            Error::Env(e) => e.hint(),
            Error::Join(e) => e.hint(),
            Error::Image(e) => e.hint(),
            Error::Copy(e) => e.hint(),
        }
    }
}

/// `error: cause: cause` on one line, then `hint: ...` when there is one.
pub fn render(error: &dyn std::error::Error, hint: Option<&str>) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(out, ": {cause}");
        source = cause.source();
    }
    if let Some(hint) = hint {
        let _ = write!(out, "\nhint: {hint}");
    }
    out
}

/// Print an error once, on stderr, prefixed so it cannot be mistaken for the payload's output.
pub fn report(error: &Error) {
    let text = match error {
        // Rendered inside the sandbox already, hint included.
        Error::Launch(LaunchError::Inside(report))
        | Error::Join(JoinError::Launch(LaunchError::Inside(report)))
        | Error::Copy(CopyError::Launch(LaunchError::Inside(report))) => report.message.clone(),
        _ => render(error, error.hint().as_deref()),
    };
    crate::output::note!("hutch: {text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn renders_the_chain_and_the_hint() {
        let err = Outer(std::io::Error::from_raw_os_error(libc::EPERM));
        let text = render(&err, Some("do this"));
        assert!(text.starts_with("outer: Operation not permitted"), "{text}");
        assert!(text.ends_with("\nhint: do this"), "{text}");
    }
}
