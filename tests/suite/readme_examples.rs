//! The README's examples, run: every ```` ```sh runnable ```` block of README.md is a script that
//! must succeed as the test user, with the built `hutch` first on PATH, in a fresh work
//! directory that is also where its home and hutch's state live. So the examples cannot rot.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::harness::{sandbox, stderr, stdout, Sandbox};

/// The bodies of the README's ```` ```sh runnable ```` blocks, with the line each starts at.
fn runnable_blocks(readme: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in readme.lines().enumerate() {
        match &mut current {
            None if line.trim() == "```sh runnable" => current = Some((number + 2, String::new())),
            None => {}
            Some(_) if line.trim() == "```" => blocks.extend(current.take()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    blocks
}

#[test]
fn blocks_are_found_with_their_lines() {
    let text = "x\n```sh runnable\na\nb\n```\n```sh\nnot\n```\n```sh runnable\nc\n```\n";
    assert_eq!(
        runnable_blocks(text),
        [(3, "a\nb\n".to_owned()), (10, "c\n".to_owned())]
    );
}

/// `hutch` with the test's own state, for cleaning up what a failed block left.
fn with_state(sb: &Sandbox, program: &str, dir: &Path) -> std::process::Command {
    let mut cmd = sb.launcher.program(program, dir);
    let bin = sb.launcher.binary.parent().unwrap();
    cmd.env(
        "PATH",
        format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display()),
    )
    .env("HOME", dir.join("home"))
    .env("XDG_DATA_HOME", dir.join("data"))
    .env("XDG_CONFIG_HOME", dir.join("config"))
    .env("XDG_RUNTIME_DIR", dir.join("run"))
    .env("TERM", "dumb");
    cmd
}

#[test]
fn readme_examples_marked_runnable_run() {
    let Some(sb) = sandbox() else { return };
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let blocks = runnable_blocks(&readme);
    assert!(blocks.len() >= 2, "README.md has no ```sh runnable blocks");
    for (index, (line, script)) in blocks.iter().enumerate() {
        let dir = sb.path().join(format!("block-{index}"));
        for sub in ["", "home", "run"] {
            sb.write(&format!("block-{index}/{sub}/.keep"), "");
        }
        std::fs::set_permissions(dir.join("run"), std::fs::Permissions::from_mode(0o700)).unwrap();
        let out = with_state(&sb, "sh", &dir)
            .args(["-exc", script])
            .output()
            .unwrap();
        // Whatever an environment example left running goes, pass or fail.
        let _ = with_state(&sb, "sh", &dir)
            .args(["-c", "for e in $(hutch ls --json | grep -o '\"name\": \"[^\"]*' | cut -d'\"' -f4); do hutch rm -f \"$e\"; done"])
            .output();
        assert!(
            out.status.success(),
            "README.md line {line}: the block failed ({:?})\n--- script\n{script}--- stdout\n{}--- stderr\n{}",
            out.status,
            stdout(&out),
            stderr(&out)
        );
    }
}
