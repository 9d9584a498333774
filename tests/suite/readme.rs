//! The README documents the command line by hand; these tests fail when it drifts from the clap
//! definitions in `src/cli.rs`: a flag of `hutch run` or a subcommand that the README does not
//! mention.

use std::path::Path;

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The text of the `## TITLE` section, up to the next `## ` heading.
fn section<'a>(text: &'a str, title: &str) -> Option<&'a str> {
    let heading = format!("\n## {title}\n");
    let start = text.find(&heading)? + heading.len();
    let rest = &text[start..];
    Some(rest.find("\n## ").map_or(rest, |end| &rest[..end]))
}

/// Whether `text` holds `word` with no word character (letter, digit, `-`, `_`) right after it,
/// so `--net` is not found in `--network`.
fn mentions(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        !text[at + word.len()..]
            .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

/// The whole tree with global flags copied into each subcommand, as `--help` shows it.
fn built_command() -> clap::Command {
    let mut cmd = hutch::cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Every subcommand as it is typed: `hutch run`, `hutch profile ls`, ...
fn subcommand_paths(cmd: &clap::Command, prefix: &str, paths: &mut Vec<String>) {
    for sub in cmd.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        let path = format!("{prefix} {}", sub.get_name());
        paths.push(path.clone());
        subcommand_paths(sub, &path, paths);
    }
}

#[test]
fn readme_mentions_every_flag_of_hutch_run() {
    let readme = readme();
    let cmd = built_command();
    let run = cmd
        .find_subcommand("run")
        .expect("hutch has a run subcommand");
    let using = section(&readme, "Using `hutch run`")
        .expect("README.md has a \"## Using `hutch run`\" section");
    let missing: Vec<String> = run
        .get_arguments()
        .filter(|arg| !arg.is_hide_set())
        .filter_map(|arg| arg.get_long())
        .filter(|long| !matches!(*long, "help" | "version"))
        .map(|long| format!("--{long}"))
        .filter(|flag| !mentions(using, flag))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md's \"Using `hutch run`\" section does not mention: {}\nhint: add them to its \
         options table (see `hutch run --help`)",
        missing.join(", ")
    );
}

#[test]
fn readme_lists_every_subcommand() {
    let readme = readme();
    let commands = section(&readme, "Commands").expect("README.md has a \"## Commands\" section");
    let mut paths = Vec::new();
    subcommand_paths(&built_command(), "hutch", &mut paths);
    assert!(paths.iter().any(|p| p == "hutch run"), "{paths:?}");
    let missing: Vec<&str> = paths
        .iter()
        .map(String::as_str)
        .filter(|path| !mentions(commands, path))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md's \"Commands\" section does not list: {}\nhint: add one line for each",
        missing.join(", ")
    );
}

#[test]
fn mentions_whole_words_only() {
    assert!(mentions("`--net none|host`", "--net"));
    assert!(!mentions("`--network`", "--net"));
    assert!(mentions("hutch profile ls", "hutch profile ls"));
    assert!(!mentions("hutch profile lsx", "hutch profile ls"));
}
