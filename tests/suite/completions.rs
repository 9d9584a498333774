//! The shell completion scripts in `completions/` are generated from the clap definitions in
//! `src/cli.rs` with clap_complete, for packagers who install them without running hutch. This
//! test renders them afresh and fails when the checked-in copies differ, so they cannot drift
//! from `--help`. With `HUTCH_UPDATE_COMPLETIONS=1` it rewrites them instead.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

use clap_complete::Shell;

const FIX: &str = "run HUTCH_UPDATE_COMPLETIONS=1 cargo test completions";

/// Each shell and the file its script is kept in: the names the shells look for.
const SCRIPTS: &[(Shell, &str)] = &[
    (Shell::Bash, "hutch.bash"),
    (Shell::Zsh, "_hutch"),
    (Shell::Fish, "hutch.fish"),
    (Shell::Elvish, "hutch.elv"),
    (Shell::PowerShell, "_hutch.ps1"),
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("completions")
}

fn render(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut hutch::cli::command(), "hutch", &mut script);
    script
}

#[test]
fn completions_match_the_cli() {
    let scripts: Vec<(String, Vec<u8>)> = SCRIPTS
        .iter()
        .map(|&(shell, name)| (name.to_owned(), render(shell)))
        .collect();
    let problems = super::generated::check(
        "completions",
        &scripts,
        |_| true,
        "HUTCH_UPDATE_COMPLETIONS",
    );
    assert!(
        problems.is_empty(),
        "the completion scripts do not match src/cli.rs:\n  {}\nhint: {FIX}",
        problems.join("\n  ")
    );
}

/// The binary prints the same script that is checked in.
#[test]
fn completions_bash_from_the_binary_is_the_checked_in_script() {
    let out = Command::new(env!("CARGO_BIN_EXE_hutch"))
        .args(["completions", "bash"])
        .output()
        .expect("spawn hutch");
    assert!(
        out.status.success(),
        "hutch completions bash: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir().join("hutch.bash");
    let on_disk =
        fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}\nhint: {FIX}", path.display()));
    assert!(
        out.stdout == on_disk,
        "`hutch completions bash` differs from completions/hutch.bash\nhint: {FIX}"
    );
}

/// The bash script parses and completes subcommands, `run`'s flags and the shell names.
#[test]
fn completions_bash_script_completes() {
    let path = dir().join("hutch.bash");
    // `_hutch CMD CUR PREV` is how bash calls a completion function.
    let script = format!(
        "source {path:?} || exit 2
         COMP_WORDS=(hutch ru); COMP_CWORD=1; _hutch hutch ru hutch; echo \"${{COMPREPLY[*]}}\"
         COMP_WORDS=(hutch run --ro-b); COMP_CWORD=2; _hutch hutch --ro-b run; echo \"${{COMPREPLY[*]}}\"
         COMP_WORDS=(hutch completions f); COMP_CWORD=2; _hutch hutch f completions; echo \"${{COMPREPLY[*]}}\"",
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .output()
        .expect("bash is needed for this test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Vec<&str>> = stdout
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].contains(&"run"), "hutch ru<TAB>: {stdout}");
    assert_eq!(lines[1], ["--ro-bind"], "hutch run --ro-b<TAB>: {stdout}");
    assert_eq!(lines[2], ["fish"], "hutch completions f<TAB>: {stdout}");
}
