//! Files generated from the CLI definitions and checked in (man pages, completion scripts): a
//! test regenerates them and reports every copy that is missing, stale or no longer generated;
//! with the update variable set to 1 it rewrites them instead.

use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

/// Compare `files` (name, contents) with `dir_name/` at the crate root. `owned(name)` says
/// which files found there are generated ones (so that stale ones are caught and others left
/// alone). Returns the problems, empty when everything matches or was just rewritten.
pub fn check(
    dir_name: &str,
    files: &[(String, Vec<u8>)],
    owned: impl Fn(&str) -> bool,
    update_var: &str,
) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir_name);
    let update = std::env::var_os(update_var).is_some_and(|v| v == "1");
    if update {
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    }
    let mut problems = Vec::new();
    for (name, contents) in files {
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
            problems.push(format!("{dir_name}/{name} {problem}"));
        }
    }
    let generated: BTreeSet<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return vec![format!("{dir_name}/ does not exist")]
        }
        Err(e) => panic!("read {}: {e}", dir.display()),
    };
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if !owned(&name) || generated.contains(&*name) {
            continue;
        }
        if update {
            fs::remove_file(&path).unwrap_or_else(|e| panic!("rm {}: {e}", path.display()));
        } else {
            problems.push(format!("{dir_name}/{name} is no longer generated"));
        }
    }
    problems
}
