//! The shell completion scripts in `completions/` are generated from the clap definitions in
//! `src/cli.rs` with clap_complete, for packagers who install them without running hutch. This
//! test renders them afresh and fails when the checked-in copies differ, so they cannot drift
//! from `--help`. With `HUTCH_UPDATE_COMPLETIONS=1` it rewrites them instead.

use std::collections::BTreeSet;
use std::io::ErrorKind;
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
    let dir = dir();
    let update = env::var_os("HUTCH_UPDATE_COMPLETIONS").is_some_and(|v| v == "1");
    if update {
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    }
    let mut problems = Vec::new();

    for &(shell, name) in SCRIPTS {
        let contents = render(shell);
        let path = dir.join(name);
        let problem = match fs::read(&path) {
            Ok(on_disk) if on_disk == contents => continue,
            Ok(_) => "is out of date",
            Err(e) if e.kind() == ErrorKind::NotFound => "is missing",
            Err(e) => panic!("read {}: {e}", path.display()),
        };
        if update {
            fs::write(&path, &contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        } else {
            problems.push(format!("completions/{name} {problem}"));
        }
    }

    let generated: BTreeSet<&str> = SCRIPTS.iter().map(|(_, name)| *name).collect();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            panic!("completions/ does not exist\nhint: {FIX}")
        }
        Err(e) => panic!("read {}: {e}", dir.display()),
    };
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if generated.contains(&*name) {
            continue;
        }
        if update {
            fs::remove_file(&path).unwrap_or_else(|e| panic!("rm {}: {e}", path.display()));
        } else {
            problems.push(format!("completions/{name} is no longer generated"));
        }
    }

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
