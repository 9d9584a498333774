//! runc's command line, as engines call it (conmon's `runtime_args.c`, containerd's runc
//! shim, CRI-O): global flags before the verb, the container id last. Errors go to stderr and,
//! with `--log`, to that file in runc's format (`--log-format json`: one
//! `{"level":"error","msg":…,"time":…}` object per line), which is where conmon looks for
//! the reason a runtime failed. Failures exit with status 1, as runc's do.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use super::container::{self, CreateRequest};
use super::state::OCI_VERSION;
use super::OciError;

#[derive(Debug, Parser)]
#[command(
    name = "hutch-oci",
    about = "hutch as an OCI runtime: runc's command line, hutch's sandbox",
    version = None,
    disable_version_flag = true
)]
pub struct Cli {
    /// Where container state lives [default: $XDG_RUNTIME_DIR/hutch-oci]
    #[arg(long, global = true, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Also write errors and warnings to FILE
    #[arg(long, global = true, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Format of --log
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// linux.cgroupsPath is systemd's SLICE:PREFIX:NAME (the scope's cgroup is made directly)
    #[arg(long, global = true)]
    systemd_cgroup: bool,
    /// Accepted for runc compatibility
    #[arg(long, global = true)]
    debug: bool,
    /// Accepted for runc compatibility (before the verb)
    #[arg(long, value_name = "VALUE")]
    rootless: Option<String>,
    /// Print the version and the runtime-spec version
    #[arg(short = 'v', long)]
    version: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a container from a bundle; its process waits for `start`
    Create {
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        #[arg(long)]
        pid_file: Option<PathBuf>,
        #[arg(long)]
        console_socket: Option<PathBuf>,
        /// Accepted: hutch always uses pivot_root
        #[arg(long)]
        no_pivot: bool,
        /// Accepted: a new session keyring is never made (keyctl is denied by hutch's filter)
        #[arg(long)]
        no_new_keyring: bool,
        /// Pass file descriptors 3 to 3+N-1 to the container's process
        #[arg(long, default_value_t = 0)]
        preserve_fds: u32,
        id: String,
    },
    /// Run the created container's program
    Start { id: String },
    /// Print the container's state (OCI JSON)
    State { id: String },
    /// Send a signal to the container's init (default SIGTERM)
    Kill {
        #[arg(short, long)]
        all: bool,
        id: String,
        signal: Option<String>,
    },
    /// Remove a container (running ones with --force)
    Delete {
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// Run another process in a running container
    Exec {
        /// A process.json (runtime-spec `process`)
        #[arg(short, long)]
        process: Option<PathBuf>,
        #[arg(short, long)]
        detach: bool,
        #[arg(long)]
        pid_file: Option<PathBuf>,
        #[arg(short, long)]
        tty: bool,
        #[arg(long)]
        console_socket: Option<PathBuf>,
        #[arg(long)]
        cwd: Option<PathBuf>,
        #[arg(short, long)]
        env: Vec<String>,
        /// UID[:GID]
        #[arg(short, long)]
        user: Option<String>,
        #[arg(long)]
        no_new_privs: bool,
        #[arg(long, default_value_t = 0)]
        preserve_fds: u32,
        id: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// List the container's processes
    Ps {
        #[arg(short, long, default_value = "table")]
        format: String,
        id: String,
    },
    /// Print what this runtime supports (runtime-spec features.json)
    Features,
    /// Write a config.json to start a bundle from
    Spec {
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        #[arg(long)]
        rootless: bool,
    },
}

/// The program's entry: parse, run, report. Returns the exit status.
/// The command line's definition, for the man pages (tests/suite/man_pages.rs).
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 1 } else { 0 };
        }
    };
    let log = Log {
        file: cli.log.clone(),
        format: cli.log_format,
    };
    match run(cli, &log) {
        Ok(status) => status,
        Err(e) => {
            log.error(&crate::error::render(&e, e.hint().as_deref()));
            1
        }
    }
}

fn default_root() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => Path::new(&dir).join("hutch-oci"),
        None => PathBuf::from(format!("/tmp/hutch-oci-{}", nix::unistd::geteuid())),
    }
}

fn run(cli: Cli, log: &Log) -> Result<u8, OciError> {
    let root = cli.root.clone().unwrap_or_else(default_root);
    if cli.version {
        print(&format!(
            "hutch-oci version {}\nspec: {OCI_VERSION}\n",
            env!("CARGO_PKG_VERSION")
        ))?;
        return Ok(0);
    }
    let Some(command) = cli.command else {
        return Err(OciError::Usage(
            "no command given; see hutch-oci --help".into(),
        ));
    };
    match command {
        Command::Create {
            bundle,
            pid_file,
            console_socket,
            preserve_fds,
            id,
            ..
        } => {
            let warnings = container::create(&CreateRequest {
                root: &root,
                id: &id,
                bundle: &bundle,
                pid_file: pid_file.as_deref(),
                console_socket: console_socket.as_deref(),
                preserve_fds,
                systemd_cgroup: cli.systemd_cgroup,
            })?;
            log.warnings(&warnings);
        }
        Command::Start { id } => log.warnings(&container::start(&root, &id)?),
        Command::State { id } => {
            let state = container::state(&root, &id)?;
            print(&format!(
                "{}\n",
                serde_json::to_string_pretty(&state).expect("JSON serialises")
            ))?;
        }
        Command::Kill { all, id, signal } => {
            let signal = container::parse_signal(signal.as_deref().unwrap_or("TERM"))?;
            container::kill(&root, &id, signal, all)?;
        }
        Command::Delete { force, id } => log.warnings(&container::delete(&root, &id, force)?),
        Command::Exec {
            process,
            detach,
            pid_file,
            tty,
            console_socket,
            cwd,
            env,
            user,
            no_new_privs,
            preserve_fds,
            id,
            args,
        } => {
            let request = super::exec::ExecRequest {
                root: &root,
                id: &id,
                process: process.as_deref(),
                args,
                detach,
                pid_file: pid_file.as_deref(),
                tty,
                console_socket: console_socket.as_deref(),
                cwd,
                env,
                user,
                no_new_privs,
                preserve_fds,
            };
            return super::exec::exec(&request);
        }
        Command::Ps { format, id } => {
            let record = super::state::Container::at(&root, &id)?.load()?;
            let pids: Vec<i32> = container::processes(&record)?
                .iter()
                .map(|p| p.as_raw())
                .collect();
            match format.as_str() {
                "json" => print(&format!("{}\n", serde_json::json!(pids)))?,
                "table" => {
                    let mut out = String::from("PID   CMD\n");
                    for pid in pids {
                        let cmd = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                            .unwrap_or_default();
                        out.push_str(&format!("{pid:<5} {}\n", cmd.trim()));
                    }
                    print(&out)?;
                }
                other => {
                    return Err(OciError::Usage(format!(
                        "--format {other:?}: use table or json"
                    )))
                }
            }
        }
        Command::Features => print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&features()).expect("JSON serialises")
        ))?,
        Command::Spec { bundle, rootless } => write_spec(&bundle, rootless)?,
    }
    Ok(0)
}

fn print(text: &str) -> Result<(), OciError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|source| OciError::Io {
            what: "write to",
            path: "standard output".into(),
            source,
        })
}

/// runtime-spec `features.json`: what this runtime implements.
fn features() -> serde_json::Value {
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "poststart", "poststop"],
        "mountOptions": ["ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec",
                         "bind", "rbind", "relatime", "norelatime", "strictatime", "noatime",
                         "nodiratime", "atime", "diratime", "async", "private", "rprivate"],
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
            "capabilities": crate::caps::CapSet(u64::MAX).names().iter()
                .map(|n| format!("CAP_{n}")).collect::<Vec<_>>(),
            "cgroup": { "v1": false, "v2": true, "systemd": false, "systemdUser": false },
            "seccomp": {
                "enabled": true,
                "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                            "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
                            "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"],
                "operators": ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
                              "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
                "archs": [if cfg!(target_arch = "aarch64") { "SCMP_ARCH_AARCH64" }
                          else { "SCMP_ARCH_X86_64" }],
            },
            "apparmor": { "enabled": false },
            "selinux": { "enabled": false },
        },
        "annotations": {
            "run.hutch.landlock": "on (default) | off | require",
            "run.hutch.seccomp": "stack: hutch's deny-list under the engine's profile",
        },
    })
}

/// `spec`: oci-spec's example configuration (runc's), made rootless on request.
fn write_spec(bundle: &Path, rootless: bool) -> Result<(), OciError> {
    use oci_spec::runtime::{Linux, Spec};
    let path = bundle.join("config.json");
    if path.exists() {
        return Err(OciError::Usage(format!(
            "{} exists already; remove it first",
            path.display()
        )));
    }
    let mut spec = Spec::default();
    if rootless {
        let uid = nix::unistd::geteuid().as_raw();
        let gid = nix::unistd::getegid().as_raw();
        spec.set_linux(Some(Linux::rootless(uid, gid)));
        // devpts' gid=5 (tty) is not mapped in a one-id user namespace.
        if let Some(mounts) = spec.mounts_mut() {
            for mount in mounts.iter_mut() {
                if let Some(options) = mount.options_mut() {
                    options.retain(|o| o != "gid=5");
                }
            }
        }
    }
    let text = serde_json::to_string_pretty(&spec).expect("a spec serialises");
    std::fs::write(&path, text + "\n").map_err(|source| OciError::Io {
        what: "write",
        path,
        source,
    })
}

/// Where errors and warnings go: stderr, and `--log` in runc's format.
struct Log {
    file: Option<PathBuf>,
    format: LogFormat,
}

impl Log {
    fn error(&self, message: &str) {
        crate::output::note!("hutch-oci: {message}");
        self.write("error", message);
    }

    fn warnings(&self, warnings: &[String]) {
        for warning in warnings {
            match self.file {
                Some(_) => self.write("warning", warning),
                None => crate::output::note!("hutch-oci: warning: {warning}"),
            }
        }
    }

    fn write(&self, level: &str, message: &str) {
        let Some(path) = &self.file else {
            return;
        };
        let time = super::state::now_rfc3339();
        let line = match self.format {
            LogFormat::Json => {
                serde_json::json!({"level": level, "msg": message, "time": time}).to_string()
            }
            LogFormat::Text => format!("time={time:?} level={level} msg={message:?}"),
        };
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn conmon_style_invocations_parse() {
        let cli = Cli::try_parse_from([
            "hutch-oci",
            "--systemd-cgroup",
            "--log",
            "/l",
            "--log-format",
            "json",
            "--root",
            "/r",
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/p",
            "--no-new-keyring",
            "c1",
        ])
        .unwrap();
        assert_eq!(cli.log_format, LogFormat::Json);
        assert!(matches!(cli.command, Some(Command::Create { ref id, .. }) if id == "c1"));
        let cli =
            Cli::try_parse_from(["hutch-oci", "--rootless", "auto", "kill", "c1", "KILL"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::Kill { ref signal, .. }) if signal.as_deref() == Some("KILL"))
        );
        let cli = Cli::try_parse_from(["hutch-oci", "exec", "-t", "c1", "ls", "-l"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::Exec { ref args, tty: true, .. }) if args == &["ls", "-l"])
        );
    }
}
