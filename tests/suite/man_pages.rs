//! The man pages in `man/` are generated from the clap definitions in `src/cli.rs` with
//! clap_mangen. This test renders them afresh and fails when the checked-in copies differ, so the
//! pages cannot drift from `--help`. With `HUTCH_UPDATE_MAN=1` it rewrites them instead.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::Path;
use std::{env, fs};

const FIX: &str = "run HUTCH_UPDATE_MAN=1 cargo test man_pages";

/// Every man page as (file name, contents): `hutch.1`, then one per subcommand with the path
/// joined by dashes: `hutch-run.1`, `hutch-image-import.1`.
fn render_all() -> Vec<(String, Vec<u8>)> {
    // `build()` on the whole tree copies the global flags (-v, -q) into every subcommand and
    // names each one: display name `hutch-run` (page title, NAME and file name), bin name
    // `hutch run` (SYNOPSIS). A subcommand rendered without it would lose both.
    let mut cmd = without_help_subcommand(hutch::cli::command());
    cmd.build();
    // clap_mangen puts "<name> <version>" in the footer, which for a subcommand would read
    // "run " — give every page the program's.
    let source = format!("hutch {}", cmd.get_version().unwrap_or_default());
    let mut pages = Vec::new();
    render(&cmd, &source, &mut pages);
    pages
}

/// The auto-generated `help` subcommand gets no page, and no parent page lists it.
fn without_help_subcommand(cmd: clap::Command) -> clap::Command {
    cmd.disable_help_subcommand(true)
        .mut_subcommands(without_help_subcommand)
}

fn render(cmd: &clap::Command, source: &str, pages: &mut Vec<(String, Vec<u8>)>) {
    let man = clap_mangen::Man::new(cmd.clone()).source(source);
    let mut contents = Vec::new();
    man.render(&mut contents).expect("rendering into memory");
    pages.push((man.get_filename(), contents));
    for sub in cmd.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        render(sub, source, pages);
    }
}

#[test]
fn man_pages_match_the_cli() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let update = env::var_os("HUTCH_UPDATE_MAN").is_some_and(|v| v == "1");
    if update {
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    }
    let pages = render_all();
    let mut problems = Vec::new();

    for (name, contents) in &pages {
        let path = dir.join(name);
        let problem = match fs::read(&path) {
            Ok(on_disk) if on_disk == *contents => continue,
            Ok(_) => "is out of date",
            Err(e) if e.kind() == ErrorKind::NotFound => "is missing",
            Err(e) => panic!("read {}: {e}", path.display()),
        };
        if update {
            fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        } else {
            problems.push(format!("man/{name} {problem}"));
        }
    }

    let generated: BTreeSet<&str> = pages.iter().map(|(name, _)| name.as_str()).collect();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            panic!("man/ does not exist\nhint: {FIX}")
        }
        Err(e) => panic!("read {}: {e}", dir.display()),
    };
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if !name.ends_with(".1") || generated.contains(&*name) {
            continue;
        }
        if update {
            fs::remove_file(&path).unwrap_or_else(|e| panic!("rm {}: {e}", path.display()));
        } else {
            problems.push(format!("man/{name} is no longer generated"));
        }
    }

    assert!(
        problems.is_empty(),
        "the man pages do not match src/cli.rs:\n  {}\nhint: {FIX}",
        problems.join("\n  ")
    );
}
