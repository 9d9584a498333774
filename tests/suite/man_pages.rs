//! The man pages in `man/` are generated from the clap definitions in `src/cli.rs` (and
//! `src/oci/cli.rs` for hutch-oci) with clap_mangen. This test renders them afresh and fails when the checked-in copies differ, so the
//! pages cannot drift from `--help`. With `HUTCH_UPDATE_MAN=1` it rewrites them instead.

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
    // hutch-oci, the second binary: its own pages, under its own name (runc's verbs).
    let mut oci = without_help_subcommand(hutch::oci::cli::command());
    oci.build();
    let oci_source = format!("hutch-oci {}", cmd.get_version().unwrap_or_default());
    render(&oci, &oci_source, &mut pages);
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
    // Only the .1 pages are generated; hutch.toml.5 is written by hand.
    let problems = super::generated::check(
        "man",
        &render_all(),
        |name| name.ends_with(".1"),
        "HUTCH_UPDATE_MAN",
    );
    assert!(
        problems.is_empty(),
        "the man pages do not match src/cli.rs:\n  {}\nhint: {FIX}",
        problems.join("\n  ")
    );
}
