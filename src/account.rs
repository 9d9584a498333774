//! The current user's account — uid, gid, login name, home directory — found without NSS.
//!
//! hutch is a static PIE linked with glibc. glibc's name service switch (nsswitch.conf(5))
//! answers `getpwuid`/`getpwnam` by loading `libnss_*` modules at run time (`systemd` on Debian,
//! `sss` or `ldap` on directory-service hosts); in a static binary that load crashes (SIGSEGV)
//! for every user who is not in `/etc/passwd`. So hutch never asks NSS: it takes `$USER` (or
//! `$LOGNAME`) and `$HOME`, which login(1), sshd, su and sudo set for everyone however their
//! account is stored, and only where they are unset reads `/etc/passwd` itself, as a file. A
//! user that neither knows has no name (callers show the uid) and no home.
//!
//! The environment goes first so that the common case, `hutch run` in a login shell, reads no
//! file at all.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Where local accounts live (passwd(5)).
pub const PASSWD: &str = "/etc/passwd";

/// Larger than any real `/etc/passwd` (a million accounts of 100 bytes), small enough that a
/// hostile or broken file cannot exhaust memory.
const PASSWD_MAX_BYTES: u64 = 100 << 20;

/// Who runs hutch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub uid: u32,
    pub gid: u32,
    /// The login name; `None` when neither the environment nor `/etc/passwd` names the uid.
    pub name: Option<String>,
    /// An absolute home directory; `None` when nothing says where it is.
    pub home: Option<PathBuf>,
}

impl Account {
    /// This process's real user, from its environment and, where that is silent, `/etc/passwd`.
    pub fn current() -> Account {
        Account::resolve(
            rustix::process::getuid().as_raw(),
            rustix::process::getgid().as_raw(),
            |name| std::env::var_os(name),
            Path::new(PASSWD),
        )
    }

    /// The account of `uid`/`gid` as the environment `var` and the passwd file `passwd` describe
    /// it. The file is read only when `var` lacks the name or the home.
    pub fn resolve(
        uid: u32,
        gid: u32,
        var: impl Fn(&str) -> Option<OsString>,
        passwd: &Path,
    ) -> Account {
        let name = ["USER", "LOGNAME"]
            .iter()
            .find_map(|key| var(key).and_then(|v| v.into_string().ok()))
            .filter(|n| !n.is_empty());
        let home = var("HOME").map(PathBuf::from).filter(|h| h.is_absolute());
        let entry = (name.is_none() || home.is_none())
            .then(|| passwd_entry(passwd, uid))
            .flatten();
        let (entry_name, entry_home) = entry.map_or((None, None), |e| (Some(e.name), e.home));
        Account {
            uid,
            gid,
            name: name.or(entry_name),
            home: home.or(entry_home),
        }
    }

    /// The name subordinate id files (subuid(5)) may list the user by. newuidmap(1) takes it from
    /// the passwd database, so `/etc/passwd`'s name for the uid comes first, even over a `$USER`
    /// left over from another account; the environment's name is for users the file does not
    /// list (directory services).
    pub fn subid_owner_name(&self, passwd: &Path) -> Option<String> {
        passwd_entry(passwd, self.uid)
            .map(|e| e.name)
            .or_else(|| self.name.clone())
    }

    /// The name for messages and commands, or the uid when there is none.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.uid.to_string())
    }
}

/// One line of a passwd file, the fields hutch uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// The home directory when it is absolute.
    pub home: Option<PathBuf>,
}

/// The first entry for `uid` in the passwd file at `path`; `None` when the file cannot be read
/// (missing, not a regular file, larger than any real one) or does not list the uid.
pub fn passwd_entry(path: &Path, uid: u32) -> Option<PasswdEntry> {
    let text = read_passwd(path)?;
    let entry = parse_passwd(&text).find(|e| e.uid == uid);
    entry
}

/// The entries of passwd(5) text, skipping comments, NIS `+`/`-` lines and malformed lines.
pub fn parse_passwd(text: &str) -> impl Iterator<Item = PasswdEntry> + '_ {
    text.lines().filter_map(|line| {
        if line.starts_with(['#', '+', '-']) {
            return None;
        }
        let fields: Vec<&str> = line.split(':').collect();
        let [name, _password, uid, gid, _gecos, home, ..] = fields[..] else {
            return None;
        };
        if name.is_empty() {
            return None;
        }
        Some(PasswdEntry {
            name: name.to_owned(),
            uid: uid.parse().ok()?,
            gid: gid.parse().ok()?,
            home: Some(PathBuf::from(home)).filter(|h| h.is_absolute()),
        })
    })
}

/// The text of a passwd file, read only if it is a regular file of sane size. `O_NONBLOCK`:
/// opening a FIFO put in its place must not hang.
fn read_passwd(path: &Path) -> Option<String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > PASSWD_MAX_BYTES {
        return None;
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).ok()?);
    file.take(PASSWD_MAX_BYTES).read_to_end(&mut bytes).ok()?;
    // Other users' names may be in any encoding; only this user's line needs to be text.
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD_TEXT: &str = "root:x:0:0:root:/root:/bin/bash\n\
        # a comment\n\
        +nisuser::::::\n\
        broken line\n\
        alice:x:1000:1000:Alice,,,:/home/alice:/bin/sh\n\
        nohome:x:1001:1001::relative:/bin/sh\n\
        alice2:x:1000:1000::/home/second:/bin/sh\n";

    fn passwd_file() -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), PASSWD_TEXT).unwrap();
        file
    }

    fn env<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |key| {
            vars.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn the_environment_wins_and_the_file_is_not_needed() {
        let account = Account::resolve(
            1000,
            1000,
            env(&[("USER", "bob"), ("HOME", "/tmp/bob")]),
            Path::new("/nonexistent/passwd"),
        );
        assert_eq!(account.name.as_deref(), Some("bob"));
        assert_eq!(account.home.as_deref(), Some(Path::new("/tmp/bob")));
    }

    #[test]
    fn logname_stands_in_for_user() {
        let account = Account::resolve(7, 7, env(&[("LOGNAME", "carol")]), Path::new("/x"));
        assert_eq!(account.name.as_deref(), Some("carol"));
        assert_eq!(account.home, None);
    }

    #[test]
    fn the_file_fills_in_what_the_environment_lacks() {
        let file = passwd_file();
        let account = Account::resolve(1000, 1000, env(&[("HOME", "relative")]), file.path());
        assert_eq!(account.name.as_deref(), Some("alice"));
        // The first line for the uid counts, and a relative $HOME is no home.
        assert_eq!(account.home.as_deref(), Some(Path::new("/home/alice")));
        let account = Account::resolve(1000, 1000, env(&[("USER", "")]), file.path());
        assert_eq!(account.name.as_deref(), Some("alice"));
    }

    #[test]
    fn an_unknown_uid_has_no_name_and_no_home() {
        let file = passwd_file();
        let account = Account::resolve(55555, 55555, env(&[]), file.path());
        assert_eq!(account.name, None);
        assert_eq!(account.home, None);
        assert_eq!(account.display_name(), "55555");
        let relative = Account::resolve(1001, 1001, env(&[]), file.path());
        assert_eq!(relative.name.as_deref(), Some("nohome"));
        assert_eq!(relative.home, None);
    }

    #[test]
    fn subordinate_ids_go_by_the_files_name_first() {
        let file = passwd_file();
        let account = Account::resolve(1000, 1000, env(&[("USER", "stale")]), file.path());
        assert_eq!(account.name.as_deref(), Some("stale"));
        assert_eq!(
            account.subid_owner_name(file.path()).as_deref(),
            Some("alice")
        );
        let ldap = Account::resolve(4242, 4242, env(&[("USER", "ldapuser")]), file.path());
        assert_eq!(
            ldap.subid_owner_name(file.path()).as_deref(),
            Some("ldapuser")
        );
    }

    #[test]
    fn parses_only_well_formed_lines() {
        let entries: Vec<PasswdEntry> = parse_passwd(PASSWD_TEXT).collect();
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["root", "alice", "nohome", "alice2"]);
        assert_eq!(entries[1].gid, 1000);
    }

    #[test]
    fn a_fifo_or_a_directory_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("passwd");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        // Would block forever on a FIFO without a writer if opened for a blocking read.
        assert_eq!(passwd_entry(&fifo, 0), None);
        assert_eq!(passwd_entry(dir.path(), 0), None);
    }
}
