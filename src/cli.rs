//! The command line: clap definitions (also the source of the man pages), and the dispatch that
//! turns raw flags into a validated spec before anything runs.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use clap_complete::Shell;

use crate::check;
use crate::error::{self, Error, HUTCH_FAILED};
use crate::explain;
use crate::output;
use crate::profile::{Catalog, NetMode};
use crate::sandbox;
use crate::spec::{Host, MountFlag, RunRequest, SandboxSpec};
use crate::state::StateDirs;

#[derive(Debug, Parser)]
#[command(
    name = "hutch",
    version,
    about = "Rootless sandboxes and private Linux environments, without setuid or a daemon",
    long_about = "hutch gives an ordinary user a private Linux environment on the shared kernel, \
                  built from user namespaces, bind mounts and a fresh /proc and /dev. No root, no \
                  setuid binary, no daemon.\n\n\
                  hutch run -- CMD runs one command in a one-shot sandbox: the host read-only, \
                  the current directory writable, an empty home, a private /tmp, no network.",
    after_help = "Exit status: the command's own; 125 when hutch itself failed; 126 when the command \
                  cannot be executed; 127 when it is not found; 128+N when it was killed by signal N."
)]
pub struct Cli {
    #[command(flatten)]
    pub globals: Globals,
    #[command(subcommand)]
    pub command: Command,
}

/// The options every subcommand takes.
#[derive(Debug, Args, Default)]
pub struct Globals {
    /// Log what hutch does on stderr (-vv for more detail)
    #[arg(short, long, global = true, action = ArgAction::Count, help_heading = "Global options")]
    pub verbose: u8,
    /// Print nothing but errors
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    pub quiet: bool,
    /// Keep state (images, environments and what runs of them) under DIR/data instead of
    /// $XDG_DATA_HOME/hutch; DIR must be writable by you alone
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        help_heading = "Global options"
    )]
    pub root: Option<PathBuf>,
}

/// `hutch run` alone, for its start-up: most of clap's time (about 0.18 ms of every `hutch run`
/// here) goes to building every subcommand's arguments and help, and `run` needs its own only.
/// Whatever this does not parse (help, a mistake, options before `run`) goes to [`Cli`], whose
/// answer is the one given. The arguments are [`Cli`]'s own types, so both parse alike.
#[derive(Debug, Parser)]
#[command(
    name = "hutch",
    disable_help_flag = true,
    disable_help_subcommand = true
)]
struct RunOnly {
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: RunOnlyCommand,
}

#[derive(Debug, Subcommand)]
enum RunOnlyCommand {
    #[command(disable_help_flag = true)]
    Run(RunArgs),
}

/// The profile `run` starts from when none is named.
const DEFAULT_PROFILE: &str = "default";

/// `hutch run -- CMD [ARG...]`, the form with no option at all, read without clap: every
/// argument at its default, and the command. Even [`RunOnly`] costs about 70 µs of such a
/// start (building run's thirty-odd arguments, then matching them); the words are all there is
/// to read. A test checks that clap reads the same words the same way. Anything else is clap's.
fn parse_plain_run(args: &[OsString]) -> Option<Cli> {
    match args {
        [_, run, dashes, command @ ..] if run == "run" && dashes == "--" && !command.is_empty() => {
            Some(Cli {
                globals: Globals::default(),
                command: Command::Run(RunArgs {
                    profile: DEFAULT_PROFILE.to_owned(),
                    command: command.to_vec(),
                    ..RunArgs::default()
                }),
            })
        }
        _ => None,
    }
}

/// `args` parsed as `hutch run ...` by [`RunOnly`], or `None` for [`Cli`] to parse.
fn parse_run_only(args: &[OsString]) -> Option<(Cli, ArgMatches)> {
    if args.get(1).map(OsString::as_os_str) != Some(std::ffi::OsStr::new("run")) {
        return None;
    }
    let matches = RunOnly::command().try_get_matches_from(args).ok()?;
    let parsed = RunOnly::from_arg_matches(&matches).ok()?;
    let RunOnlyCommand::Run(run) = parsed.command;
    let cli = Cli {
        globals: parsed.globals,
        command: Command::Run(run),
    };
    Some((cli, matches))
}

// Parsed once per process: boxing the large `run` arguments would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command in a one-shot sandbox
    #[command(
        long_about = "Run CMD in a one-shot sandbox and exit with its status.\n\n\
                      With the default profile the sandbox has its own user, mount, pid, ipc, \
                      uts, network (loopback only) and cgroup namespaces; you keep your uid; the \
                      host's root is read-only; /home, /root, /run, /tmp, /var/tmp, /mnt and \
                      /media are fresh and empty, $HOME an empty tmpfs; the current directory is \
                      writable; /proc is the sandbox's own and /dev holds only null, zero, full, \
                      random, urandom, tty, pts and shm. Only PATH, TERM, COLORTERM, LANG, LC_*, \
                      TZ, USER, LOGNAME and SHELL pass from your environment. Nothing of the \
                      sandbox outlives hutch, even if hutch is killed.\n\n\
                      --net pasta gives the sandbox a network of its own through pasta (from the \
                      passt package): outbound connections and DNS work, nothing on the host's \
                      loopback is reachable unless --net-host-loopback says so, and only ports \
                      given with --publish are reachable from outside. pasta ends with the \
                      sandbox.",
        after_help = "Examples:\n  \
                      hutch run -- make test\n  \
                      hutch run --bind ~/.cache/pip -- pip install -r requirements.txt\n  \
                      hutch run --map-root -- id\n  \
                      hutch run --ro-bind data:/data --chdir /data -- ls\n  \
                      hutch run --net pasta -p 127.0.0.1:8000:8000 -- python3 -m http.server"
    )]
    Run(RunArgs),
    /// List profiles and show what they contain
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Create a persistent environment (`--host`: the host's system, a home of its own)
    #[command(
        after_help = "Examples:\n  hutch create dev --host\n  hutch create box --host --profile dev --map-root\n  \
                      hutch create web --host --net pasta --publish 127.0.0.1:8080:80\n  \
                      hutch create deb --image debian --bind ~/src:/src --ro-bind ~/data:/data"
    )]
    Create(CreateArgs),
    /// Start an environment (its supervisor runs detached; output goes to its console log)
    Start(NameArg),
    /// Stop an environment: ask its PID 1 to shut down as its init expects, SIGKILL after the grace time
    Stop(StopArgs),
    /// Restart an environment, as `reboot` inside it does
    Restart(NameArg),
    /// Change an environment's resource limits (now, if it runs and its cgroup allows)
    #[command(
        after_help = "Examples:\n  hutch update dev --memory 2G --pids 512\n  \
                            hutch update dev --cpus max"
    )]
    Update(UpdateArgs),
    /// Run a command in a running environment; exit status as `hutch run`
    Exec(ExecArgs),
    /// Open a login shell in a running environment (with a pseudoterminal of its own when you
    /// have a terminal)
    Enter(EnterArgs),
    /// Copy files and directories into or out of an environment, running or not:
    /// `hutch cp SRC ENV:DST` or `hutch cp ENV:SRC DST`
    #[command(
        after_help = "Paths inside the environment are resolved inside it, as in a chroot; \
                      symlinks below SRC are copied as symlinks, and FIFOs, devices and sockets \
                      are refused. Modes and modification times are kept, set-id bits are not; \
                      what is copied in belongs to the environment's root (to you in a host \
                      environment), what is copied out to you.\n\nExamples:\n  \
                      hutch cp notes.txt dev:/root/\n  hutch cp ./src deb:/srv/src\n  \
                      hutch cp deb:/etc/os-release ."
    )]
    Cp(CpArgs),
    /// List environments
    Ls(JsonArg),
    /// Show one environment's state
    #[command(visible_alias = "inspect")]
    Status(StatusArgs),
    /// Print an environment's console log
    Logs(LogsArgs),
    /// Remove an environment and its home (-f: also when running)
    Rm(RmArgs),
    /// Check whether this host can run sandboxes, and say how to fix what is missing
    #[command(
        long_about = "Check whether this host can run hutch's sandboxes, and say how to fix what \
                      is missing. Nothing on the host is changed.\n\n\
                      One line per check: ok, warn (hutch runs, but a feature is missing or \
                      weaker) or fail (hutch run cannot work), what was found, and the fix. The \
                      checks: the kernel version; the switches that stop user namespaces \
                      (user.max_user_namespaces, kernel.unprivileged_userns_clone, \
                      kernel.apparmor_restrict_unprivileged_userns); a probe of the whole path in \
                      a throw-away child (create the namespaces, write the id maps, mount a tmpfs \
                      and proc), because under Ubuntu's AppArmor restriction creating the \
                      namespace succeeds and only the next step fails; overlayfs in a user \
                      namespace; your subordinate id ranges (/etc/subuid and /etc/subgid, or \
                      getsubids where nsswitch.conf names a subid: service); newuidmap and \
                      newgidmap (setuid root or file capabilities); the Landlock ABI; seccomp; \
                      pasta or slirp4netns; cgroup v2 and its delegation to you; the state \
                      directories ($XDG_DATA_HOME/hutch, $XDG_RUNTIME_DIR/hutch), whether they are \
                      writable and on a file system that can hold an overlay upper.\n\n\
                      With --json the report is one JSON object, schema 1: {\"schema\": 1, \
                      \"ok\": BOOL, \"checks\": [{\"id\": \"userns.probe\", \"status\": \
                      \"ok\"|\"warn\"|\"fail\", \"found\": STRING, \"fix\": STRING or null}]}; \
                      idmap.subuid and idmap.subgid also say where the ranges came from: \
                      \"source\": \"files\"|\"getsubids\". \
                      \"ok\" is true when no check failed. Every check id appears once, in a fixed \
                      order: kernel.version, userns.max_user_namespaces, \
                      userns.unprivileged_userns_clone, userns.apparmor_restriction, \
                      userns.probe, overlay.userns, idmap.subuid, idmap.subgid, idmap.newuidmap, \
                      idmap.newgidmap, landlock.abi, seccomp.filter, net.helper, cgroup.v2, \
                      cgroup.delegation, state.data, state.runtime. Later versions may add ids \
                      within schema 1; a field or id is only removed or renamed with a new \
                      schema number.",
        after_help = "Exit status: 0 when hutch run can work here (warnings allowed); 1 when a check \
                      failed; 125 for a bad flag.\n\n\
                      Run it as the user who will run hutch: a probe run by root says nothing \
                      about an unprivileged user."
    )]
    Check(CheckArgs),
    /// Print a shell completion script for hutch
    #[command(
        long_about = "Print a completion script for SHELL on standard output. Load it from your \
                      shell's start-up files, or save it where the shell looks for completions.",
        after_help = "Examples:\n  \
                      hutch completions bash > ~/.local/share/bash-completion/completions/hutch\n  \
                      hutch completions zsh > ~/.zfunc/_hutch   # with fpath+=(~/.zfunc) before compinit\n  \
                      hutch completions fish > ~/.config/fish/completions/hutch.fish\n  \
                      hutch completions elvish >> ~/.config/elvish/rc.elv\n  \
                      hutch completions powershell >> $PROFILE"
    )]
    Completions(CompletionsArgs),
    /// Import, list and remove images (root file systems for environments)
    #[command(subcommand)]
    Image(ImageCommand),
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Import a root file system as an image, keeping owners, modes and links
    #[command(
        long_about = "Import a root file system as an image, in $XDG_DATA_HOME/hutch/images/NAME.\n\n\
                      SRC is a tar archive (plain, gzip, xz or zstd, told by its first bytes), - \
                      for a tar archive on standard input, a directory (copied), an OCI image \
                      layout (a directory with oci-layout and index.json, e.g. from `skopeo copy \
                      docker://debian:bookworm oci:debian:bookworm`), or an image archive from \
                      `docker save` (or an OCI layout in a tar file).\n\n\
                      The files are written as root of a user namespace that maps your \
                      subordinate ids (/etc/subuid, /etc/subgid, via newuidmap and newgidmap), so \
                      owners, modes, setuid bits, symlinks, hard links and extended attributes \
                      are kept; without ranges every file becomes yours, with a warning. Device \
                      nodes are skipped and counted. Every name is resolved inside the image: \
                      absolute names are taken relative to it, names with `..` are skipped, and \
                      symlinks are never followed out of it. A failure or Ctrl-C leaves nothing \
                      behind.",
        after_help = "Examples:\n  \
                      mmdebstrap --mode=unshare --variant=minbase bookworm - | hutch image import - --name debian\n  \
                      skopeo copy docker://debian:bookworm oci:debian:bookworm && hutch image import debian\n  \
                      hutch image import alpine-minirootfs.tar.gz --name alpine"
    )]
    Import {
        /// A tar archive (or - for standard input), a directory, an OCI layout or a docker-archive
        #[arg(value_name = "SRC")]
        src: String,
        /// The image's name (default: SRC's file name without .tar, .gz, ...): letters, digits,
        /// `_`, `.`, `-`, up to 63
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
    },
    /// List images: name, size, creation time, format, digest and source
    Ls {
        /// Print a JSON array of {name, size, created, source, format, digest, files}
        #[arg(long)]
        json: bool,
    },
    /// Remove an image (refused while an environment uses it)
    Rm {
        /// The image
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_name = "SHELL")]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print the report as JSON (schema 1, see above)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// The environment
    pub name: String,
}

#[derive(Debug, Args)]
pub struct EnterArgs {
    /// The environment
    pub name: String,
    /// Log in as this user of the environment (its /etc/passwd) instead of as yourself or root
    #[arg(long, short, value_name = "USER")]
    pub user: Option<String>,
}

#[derive(Debug, Args)]
pub struct CpArgs {
    /// What to copy: a host path, or ENV:PATH in an environment (resolved inside it)
    #[arg(value_name = "SRC", value_hint = clap::ValueHint::AnyPath)]
    pub src: std::ffi::OsString,
    /// Where to: into it when it is a directory, else that name; ENV:PATH or a host path
    #[arg(value_name = "DST", value_hint = clap::ValueHint::AnyPath)]
    pub dst: std::ffi::OsString,
}

#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The environment's name: letters, digits, `_`, `.`, `-` (up to 63)
    pub name: String,
    /// Build it from the host's own system (read-only), with a persistent home of its own
    #[arg(long, conflicts_with = "image")]
    pub host: bool,
    /// Build it from an imported image (`hutch image ls`): root inside, the image's files
    /// under a layer of the environment's own
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// PID 1: hutch's own init, or the image's /sbin/init (its services, its shutdown)
    #[arg(long, value_name = "INIT", value_parser = ["hutch", "system"], default_value = "hutch")]
    pub init: String,
    /// The profile its sandbox starts from (default: base)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Be uid 0 inside; root there may also reboot(2) the environment
    #[arg(long)]
    pub map_root: bool,
    #[command(flatten)]
    pub net: NetArgs,
    #[command(flatten)]
    pub shares: ShareArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Host folders `hutch create` shares with the environment, mounted at every start and reboot.
/// The real home is not shared unless asked for.
#[derive(Debug, Args)]
pub struct ShareArgs {
    /// Share the host folder (or file) SRC writable at DST inside, at every start (default:
    /// the same path); e.g. --bind ~/src; repeatable
    #[arg(long, value_name = "SRC[:DST]")]
    pub bind: Vec<String>,
    /// Share SRC read-only at DST inside (default: the same path); repeatable
    #[arg(long, value_name = "SRC[:DST]")]
    pub ro_bind: Vec<String>,
    /// Mount a fresh, empty tmpfs at DST inside at every start; repeatable
    #[arg(long, value_name = "DST")]
    pub tmpfs: Vec<String>,
}

/// The network flags `run` and `create` share.
#[derive(Debug, Args, Default)]
pub struct NetArgs {
    /// Network: none (a namespace of its own with only loopback), host (the host's network) or
    /// pasta (a namespace of its own, connected through pasta) (default: the profile's; none
    /// for the default profile)
    #[arg(long, value_name = "MODE", value_parser = ["none", "host", "pasta"])]
    pub net: Option<String>,
    /// Forward a host port to a port inside (needs --net pasta); IP limits it to one host
    /// address, e.g. 127.0.0.1 for this machine only; repeatable
    #[arg(short, long, value_name = "[IP:]HOSTPORT:PORT[/tcp|udp]")]
    pub publish: Vec<String>,
    /// With --net pasta: let the sandbox reach services on the host's loopback, at its
    /// gateway address (named host.hutch.internal in its /etc/hosts)
    #[arg(long)]
    pub net_host_loopback: bool,
    /// With --net pasta: let the sandbox reach only this name (HTTP and HTTPS, or the given
    /// port), matched on the name each connection is for by a forwarder outside; DNS answers
    /// only allowed names; *.example.org allows the names under example.org; repeatable
    #[arg(long, value_name = "NAME[:PORT]")]
    pub allow_host: Vec<String>,
}

impl NetArgs {
    fn mode(&self) -> Option<NetMode> {
        self.net
            .as_deref()
            .map(|m| NetMode::from_name(m).expect("clap checked the value"))
    }

    /// What an environment's definition keeps of these flags.
    fn settings(&self) -> crate::env::NetSettings {
        crate::env::NetSettings {
            mode: self.mode(),
            publish: self.publish.clone(),
            host_loopback: self.net_host_loopback,
            allow_hosts: self.allow_host.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// The environment
    pub name: String,
    /// Seconds to wait for a clean shutdown before SIGKILL
    #[arg(long, short = 't', value_name = "S", default_value_t = 10)]
    pub time: u64,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Standard input and output: the command never gets your own descriptors. \
With a terminal on both stdin and stdout (or with -t) it gets a pseudoterminal of the \
environment's own, and hutch relays between it and yours (raw mode, window size); otherwise pipes, \
through which hutch copies stdin in and stdout and stderr out until the command exits. \
A terminal on stdin is read only for a pty or with -i; a pipe or file on stdin always is."
)]
pub struct ExecArgs {
    /// Give the command a pseudoterminal inside the environment, even when hutch has no
    /// terminal (as podman exec -t)
    #[arg(short, long)]
    pub tty: bool,
    /// Relay stdin even when it is a terminal and the command gets no pseudoterminal (as
    /// podman exec -i); a pipe or file on stdin is always relayed
    #[arg(short, long)]
    pub interactive: bool,
    /// The environment
    pub name: String,
    /// The command and its arguments
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The environment
    pub name: String,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The environment
    pub name: String,
    /// Keep printing what is appended
    #[arg(long, short)]
    pub follow: bool,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// The environment
    pub name: String,
    /// Stop it first if it runs
    #[arg(long, short)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List the profiles: yours (in $XDG_CONFIG_HOME/hutch/profiles) and the built-ins
    Ls {
        /// Print a JSON array of {name, source, description, overrides_builtin}
        #[arg(long)]
        json: bool,
    },
    /// Print a profile's file, or with --resolved what it amounts to on this host
    Show {
        /// A profile name or a path to a .toml file
        name: String,
        /// Merge the extends chain and expand the variables, and print the result as TOML
        #[arg(long)]
        resolved: bool,
    },
}

#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// Profile to start from: a name (your $XDG_CONFIG_HOME/hutch/profiles/NAME.toml, else a
    /// built-in: default, strict, dev, ci, base) or a path to a .toml file
    #[arg(long, value_name = "NAME", default_value = DEFAULT_PROFILE)]
    pub profile: String,
    /// Bind SRC (a host path) writable at DST inside (default: the same path)
    #[arg(long, value_name = "SRC[:DST]")]
    pub bind: Vec<String>,
    /// Bind SRC read-only at DST inside (default: the same path)
    #[arg(long, value_name = "SRC[:DST]")]
    pub ro_bind: Vec<String>,
    /// Mount a fresh, empty tmpfs at DST
    #[arg(long, value_name = "DST")]
    pub tmpfs: Vec<String>,
    /// Run the command in DIR inside the sandbox (default: the current directory)
    #[arg(long, value_name = "DIR")]
    pub chdir: Option<PathBuf>,
    /// Hostname inside the sandbox (default: the profile's, "sandbox")
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Set an environment variable inside; a bare NAME passes the host's value as it is
    #[arg(long, value_name = "NAME[=VALUE]")]
    pub env: Vec<String>,
    /// Remove an environment variable inside
    #[arg(long, value_name = "NAME")]
    pub unsetenv: Vec<String>,
    /// Start from an empty environment: only --env values are set
    #[arg(long)]
    pub clearenv: bool,
    #[command(flatten)]
    pub net: NetArgs,
    /// Resource limit inside, e.g. nofile=1024:4096 (a lone value sets soft and hard; only
    /// lowering a hard limit works without privileges)
    #[arg(long, value_name = "NAME=SOFT[:HARD]")]
    pub rlimit: Vec<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Be uid and gid 0 inside (mapped to you outside; no privileges over the host)
    #[arg(long)]
    pub map_root: bool,
    /// Landlock file-access rules: enforce what the kernel supports, refuse to run without
    /// all of them, or none at all (default: the profile's, best-effort)
    #[arg(long, value_name = "MODE", value_parser = ["best-effort", "require", "off"])]
    pub landlock: Option<String>,
    /// Print the resolved plan (namespaces, id maps, mounts, Landlock rules, seccomp policy,
    /// capabilities, environment) and exit without running anything
    #[arg(long)]
    pub explain: bool,
    /// With --explain: print the plan as JSON
    #[arg(long, requires = "explain")]
    pub json: bool,
    /// The command and its arguments
    #[arg(
        required_unless_present = "explain",
        trailing_var_arg = true,
        value_name = "CMD"
    )]
    pub command: Vec<OsString>,
}

/// The clap command, for man pages and completions.
pub fn command() -> clap::Command {
    Cli::command()
}

/// The completion script for `shell`, as `hutch completions SHELL` prints it (and as the copies in
/// `completions/` hold it).
pub fn completions(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), "hutch", &mut script);
    script
}

/// Parse `args`, run, and return the process exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    crate::cgroup::say_arrived_in_scope();
    let args: Vec<OsString> = args.into_iter().collect();
    // hutch re-executes itself as the egress forwarder (see `net::egress`).
    if let Some(status) = crate::net::egress::helper_main(&args) {
        return status;
    }
    // No matches for the plain form (`parse_plain_run`): it has no flags to look up.
    let parsed = parse_plain_run(&args)
        .map(|cli| (cli, None))
        .or_else(|| parse_run_only(&args).map(|(cli, matches)| (cli, Some(matches))));
    let (cli, matches) = match parsed {
        Some(parsed) => parsed,
        None => {
            let matches = match Cli::command().try_get_matches_from(args) {
                Ok(matches) => matches,
                Err(err) => return usage_error(err),
            };
            match Cli::from_arg_matches(&matches) {
                Ok(cli) => (cli, Some(matches)),
                Err(err) => return usage_error(err),
            }
        }
    };
    let subcommand = |name| matches.as_ref().and_then(|m| m.subcommand_matches(name));
    if cli.globals.verbose > 0 {
        let level = if cli.globals.verbose > 1 {
            tracing::Level::TRACE
        } else {
            tracing::Level::DEBUG
        };
        tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(|| output::LogWriter)
            .without_time()
            .init();
    }
    let result = match &cli.command {
        Command::Run(args) => {
            let mounts = subcommand("run")
                .map(mount_flags_in_order)
                .unwrap_or_default();
            run(args, mounts, cli.globals.quiet)
        }
        Command::Profile(command) => profile_command(command),
        Command::Create(_)
        | Command::Start(_)
        | Command::Stop(_)
        | Command::Restart(_)
        | Command::Update(_)
        | Command::Exec(_)
        | Command::Enter(_)
        | Command::Cp(_)
        | Command::Ls(_)
        | Command::Status(_)
        | Command::Logs(_)
        | Command::Rm(_) => environment_command(&cli, subcommand("create")),
        Command::Check(args) => check_command(args.json, cli.globals.quiet),
        Command::Completions(args) => print(completions(args.shell)).map(|()| 0),
        Command::Image(command) => {
            image_command(command, cli.globals.root.as_deref(), cli.globals.quiet)
        }
    };
    match result {
        Ok(status) => status,
        // Whoever read the output has what they wanted (`| head -1`).
        Err(err) if err.reader_gone() => 0,
        Err(err) => {
            error::report(&err);
            err.exit_status()
        }
    }
}

fn image_command(
    command: &ImageCommand,
    root: Option<&std::path::Path>,
    quiet: bool,
) -> Result<u8, Error> {
    let store = crate::image::store(root)?;
    Ok(match command {
        ImageCommand::Import { src, name } => {
            crate::image::import(&store, src, name.as_deref(), quiet)?
        }
        ImageCommand::Ls { json } => {
            print(crate::image::list(&store, *json, quiet)?)?;
            0
        }
        ImageCommand::Rm { name } => crate::image::remove(&store, name)?,
    })
}

fn environment_command(cli: &Cli, create: Option<&ArgMatches>) -> Result<u8, Error> {
    use crate::env::commands;
    let dirs = StateDirs::from_env(cli.globals.root.as_deref())?;
    match &cli.command {
        Command::Create(a) => commands::create(
            &dirs,
            &a.name,
            a.host,
            a.image.as_deref(),
            if a.init == "system" {
                crate::env::Init::System
            } else {
                crate::env::Init::Hutch
            },
            a.profile.as_deref(),
            a.map_root,
            a.net.settings(),
            &create.map(mount_flags_in_order).unwrap_or_default(),
            a.limits.flags(),
        )?,
        Command::Update(a) => {
            let updated = commands::update(&dirs, &a.name, &a.limits.flags())?;
            if !cli.globals.quiet {
                output::note!(
                    "hutch: {}",
                    match updated {
                        commands::Updated::Live =>
                            "limits updated in env.toml and in the running environment's cgroup",
                        commands::Updated::AtNextStart { running: true } =>
                            "limits updated in env.toml; the running environment cannot take \
                             them now (it has no cgroup of its own, or lacks the controller): \
                             they hold once it is stopped and started again",
                        commands::Updated::AtNextStart { running: false } =>
                            "limits updated in env.toml; they hold from the next start",
                    }
                );
            }
        }
        Command::Start(a) => {
            let (resources, own) = commands::cgroup_to_start(&dirs, &a.name)?;
            ensure_delegated(&resources, own)?;
            if !commands::start(&dirs, &a.name)? && !cli.globals.quiet {
                output::note!("hutch: environment {:?} is already running", a.name);
            }
        }
        Command::Stop(a) => {
            if !commands::stop(&dirs, &a.name, a.time)? && !cli.globals.quiet {
                output::note!("hutch: environment {:?} is not running", a.name);
            }
        }
        Command::Restart(a) => {
            let (resources, own) = commands::cgroup_to_start(&dirs, &a.name)?;
            ensure_delegated(&resources, own)?;
            commands::restart(&dirs, &a.name)?
        }
        Command::Exec(a) => {
            join_cgroup(&dirs, &a.name)?;
            let stdio = crate::env::join::StdioOptions {
                tty: a.tty,
                interactive: a.interactive,
                login: false,
            };
            return Ok(commands::exec(&dirs, &a.name, &a.command, stdio)?);
        }
        Command::Enter(a) => {
            join_cgroup(&dirs, &a.name)?;
            return Ok(commands::enter(&dirs, &a.name, a.user.as_deref())?);
        }
        Command::Cp(a) => crate::env::copy::copy(&dirs, &a.src, &a.dst)?,
        Command::Ls(a) => {
            let listing = commands::ls(&dirs, a.json)?;
            print(listing.text)?;
            let failed = !listing.unreadable.is_empty();
            for problem in listing.unreadable {
                crate::error::report(&Error::Env(problem));
            }
            if failed {
                return Ok(crate::error::HUTCH_FAILED);
            }
        }
        Command::Status(a) => print(commands::status(&dirs, &a.name, a.json)?)?,
        Command::Logs(a) => print_log(commands::logs(&dirs, &a.name, a.follow)?)?,
        Command::Rm(a) => commands::rm(&dirs, &a.name, a.force)?,
        _ => unreachable!("only environment commands are dispatched here"),
    }
    Ok(0)
}

fn profile_command(command: &ProfileCommand) -> Result<u8, Error> {
    use std::fmt::Write as _;
    let catalog = Catalog::from_env();
    let text = match command {
        ProfileCommand::Ls { json: true } => {
            let mut text = serde_json::to_string_pretty(&catalog.list()).expect("plain data");
            text.push('\n');
            text
        }
        ProfileCommand::Ls { json: false } => {
            let entries = catalog.list();
            let width = entries
                .iter()
                .map(|e| e.name.len())
                .max()
                .unwrap_or(4)
                .max(4);
            let mut text = String::new();
            let _ = writeln!(text, "{:width$}  {:10}  DESCRIPTION", "NAME", "SOURCE");
            for entry in entries {
                let source = if entry.source == "built-in" {
                    "built-in"
                } else {
                    "user"
                };
                let _ = writeln!(
                    text,
                    "{:width$}  {source:10}  {}",
                    entry.name, entry.description
                );
            }
            text
        }
        ProfileCommand::Show {
            name,
            resolved: false,
        } => catalog.source(name, None)?.text.clone(),
        ProfileCommand::Show {
            name,
            resolved: true,
        } => {
            let host = Host::current()?;
            catalog.load(name)?.expanded(&host.vars())?.to_toml()
        }
    };
    print(text)?;
    Ok(0)
}

fn check_command(json: bool, quiet: bool) -> Result<u8, Error> {
    let (report, status) = check::run(json, quiet)?;
    print(report)?;
    Ok(status)
}

/// Write hutch's own output to stdout; every command's output goes through here (see
/// [`crate::output`]).
fn print(text: impl AsRef<[u8]>) -> Result<(), Error> {
    output::stdout(text).map_err(Error::Output)
}

/// Copy a console log to stdout as it is read; with `logs -f` until the reader goes away. On a
/// terminal, the log's control characters are shown, not obeyed (see [`crate::env::logs`]).
fn print_log(mut log: crate::env::commands::ConsoleLog) -> Result<(), Error> {
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut buf = vec![0; 64 * 1024];
    // On a terminal: the tail of a UTF-8 character split between two reads.
    let mut pending = Vec::new();
    loop {
        let read = log.read(&mut buf)?;
        let at_end = read == 0;
        if !terminal {
            if at_end {
                return Ok(());
            }
            print(&buf[..read])?;
            continue;
        }
        pending.extend_from_slice(&buf[..read]);
        let (safe, consumed) = crate::env::logs::terminal_safe(&pending, at_end);
        pending.drain(..consumed);
        print(&safe)?;
        if at_end {
            return Ok(());
        }
    }
}

fn usage_error(err: clap::Error) -> u8 {
    use clap::error::ErrorKind;
    let status = match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
        _ => HUTCH_FAILED,
    };
    // Help and version go to stdout, and may fail there like any output; a usage error goes
    // to stderr, where a failure has nowhere to be reported.
    match err.print() {
        Err(e) if status == 0 && !output::reader_gone(&e) => {
            let err = Error::Output(e);
            error::report(&err);
            err.exit_status()
        }
        _ => status,
    }
}

/// `--bind`, `--ro-bind` and `--tmpfs` in the order they were given: a later mount covers an
/// earlier one, so the order is part of the meaning.
fn mount_flags_in_order(matches: &ArgMatches) -> Vec<MountFlag> {
    let mut flags: Vec<(usize, MountFlag)> = Vec::new();
    for (id, make) in [
        ("bind", MountFlag::Bind as fn(String) -> MountFlag),
        ("ro_bind", MountFlag::RoBind),
        ("tmpfs", MountFlag::Tmpfs),
    ] {
        if let (Some(indices), Some(values)) =
            (matches.indices_of(id), matches.get_many::<String>(id))
        {
            flags.extend(indices.zip(values).map(|(i, v)| (i, make(v.clone()))));
        }
    }
    flags.sort_by_key(|(i, _)| *i);
    flags.into_iter().map(|(_, f)| f).collect()
}

fn run(args: &RunArgs, mounts: Vec<MountFlag>, quiet: bool) -> Result<u8, Error> {
    let request = RunRequest {
        profile: args.profile.clone(),
        mounts,
        chdir: args.chdir.clone(),
        hostname: args.hostname.clone(),
        env: args.env.clone(),
        unsetenv: args.unsetenv.clone(),
        clearenv: args.clearenv,
        map_root: args.map_root,
        net: args.net.mode(),
        publish: args.net.publish.clone(),
        host_loopback: args.net.net_host_loopback,
        allow_hosts: args.net.allow_host.clone(),
        rlimits: args.rlimit.clone(),
        resources: args.limits.flags(),
        landlock: args
            .landlock
            .as_deref()
            .map(|m| m.parse().expect("clap checked the value")),
        command: args.command.clone(),
    };
    let host = Host::current()?;
    let profile = Catalog::from_env()
        .load(&request.profile)?
        .expanded(&host.vars())?;
    let spec = SandboxSpec::resolve(&request, &profile, &host)?;
    if args.explain {
        let hardening = sandbox::Hardening::prepare(&spec)?;
        let plan = explain::Plan::new(&spec, &hardening);
        print(if args.json {
            plan.to_json()
        } else {
            plan.to_text()
        })?;
        return Ok(0);
    }
    ensure_delegated(&spec.resources, spec.own_cgroup)?;
    if !quiet {
        for warning in &spec.warnings {
            output::note!("hutch: warning: {warning}");
        }
    }
    let status = sandbox::run(&spec);
    // hutch ends right after this: freeing the plan (plain data, nothing to clean up) would only
    // hold back the exit status that whoever waits for hutch waits for (~50 µs of a `hutch run
    // -- true`, measured).
    std::mem::forget((request, host, profile, spec));
    Ok(status?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> ArgMatches {
        Cli::command().try_get_matches_from(args).unwrap()
    }

    #[test]
    fn mount_flags_keep_command_line_order() {
        let m = parse(&[
            "hutch",
            "run",
            "--ro-bind",
            "/a",
            "--tmpfs",
            "/b",
            "--bind",
            "/c",
            "--ro-bind",
            "/d",
            "--",
            "true",
        ]);
        let flags = mount_flags_in_order(m.subcommand_matches("run").unwrap());
        assert_eq!(
            flags,
            [
                MountFlag::RoBind("/a".into()),
                MountFlag::Tmpfs("/b".into()),
                MountFlag::Bind("/c".into()),
                MountFlag::RoBind("/d".into()),
            ]
        );
    }

    #[test]
    fn command_takes_everything_after_it() {
        let cli = Cli::try_parse_from(["hutch", "run", "sh", "-c", "echo --bind"]).unwrap();
        let Command::Run(args) = cli.command else {
            panic!("parsed as another subcommand");
        };
        assert_eq!(args.command, ["sh", "-c", "echo --bind"]);
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
        RunOnly::command().debug_assert();
    }

    fn os_args(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_plain_form_reads_as_clap_reads_it() {
        let cases: &[&[&str]] = &[
            &["hutch", "run", "--", "true"],
            &["hutch", "run", "--", "sh", "-c", "echo --bind", "--profile"],
            &["hutch", "run", "--", "--help"],
            &["hutch", "run", "--", "--"],
        ];
        for case in cases {
            let args = os_args(case);
            let plain = parse_plain_run(&args).unwrap_or_else(|| panic!("{case:?} left to clap"));
            let matches = Cli::command().try_get_matches_from(&args).unwrap();
            let full = Cli::from_arg_matches(&matches).unwrap();
            assert_eq!(format!("{plain:?}"), format!("{full:?}"), "{case:?}");
            let mounts = mount_flags_in_order(matches.subcommand_matches("run").unwrap());
            assert!(mounts.is_empty(), "{case:?}");
        }
        for case in [
            &["hutch", "run", "true"][..],
            &["hutch", "run", "--"],
            &["hutch", "run", "--profile", "dev", "--", "true"],
            &["hutch", "-v", "run", "--", "true"],
            &["hutch", "ls", "--", "x"],
            &["hutch", "run"],
        ] {
            assert!(parse_plain_run(&os_args(case)).is_none(), "{case:?}");
        }
    }

    #[test]
    fn run_alone_parses_as_the_whole_command_line_does() {
        let cases: &[&[&str]] = &[
            &["hutch", "run", "--", "true"],
            &["hutch", "run", "true"],
            &["hutch", "run", "sh", "-c", "echo --bind"],
            &["hutch", "run", "--", "ls", "--help", "-h", "--version"],
            &[
                "hutch",
                "run",
                "-v",
                "--net",
                "pasta",
                "-p",
                "127.0.0.1:8080:80",
                "--",
                "sh",
            ],
            &[
                "hutch",
                "run",
                "--bind",
                "a",
                "--ro-bind",
                "b:/c",
                "--tmpfs",
                "/t",
                "--bind",
                "d",
                "--",
                "ls",
            ],
            &[
                "hutch",
                "run",
                "-q",
                "--root",
                "/x",
                "--profile",
                "dev",
                "--env",
                "A=b",
                "--",
                "env",
            ],
            &[
                "hutch", "run", "--memory", "1G", "--pids", "10", "--", "true",
            ],
        ];
        for case in cases {
            let args = os_args(case);
            let (fast, fast_matches) =
                parse_run_only(&args).unwrap_or_else(|| panic!("{case:?} left to Cli"));
            let full_matches = Cli::command().try_get_matches_from(&args).unwrap();
            let full = Cli::from_arg_matches(&full_matches).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{case:?}");
            let mounts =
                |m: &ArgMatches| mount_flags_in_order(m.subcommand_matches("run").unwrap());
            assert_eq!(mounts(&fast_matches), mounts(&full_matches), "{case:?}");
        }
        // Help, mistakes and anything but `run` first are the whole command line's to answer.
        for case in [
            &["hutch", "run", "--help"][..],
            &["hutch", "run", "-h", "--", "true"],
            &["hutch", "run", "--bogus", "--", "true"],
            &["hutch", "run", "--memory"],
            &["hutch", "-v", "run", "--", "true"],
            &["hutch", "ls"],
            &["hutch", "help", "run"],
            &["hutch"],
        ] {
            assert!(parse_run_only(&os_args(case)).is_none(), "{case:?}");
        }
    }
}

/// The cgroup v2 limit flags `run`, `create` and `update` share.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Resource limits (cgroup v2; need a delegated cgroup)")]
pub struct LimitArgs {
    /// Memory limit (memory.max), e.g. 512M or 2G, or `max`; beyond it the whole sandbox is
    /// OOM-killed (exit status 137)
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// Swap limit (memory.swap.max), e.g. 0 (no swap) or 1G, or `max`
    #[arg(long, value_name = "SIZE")]
    pub memory_swap: Option<String>,
    /// Most tasks (processes and threads) at once (pids.max), or `max`
    #[arg(long, value_name = "N")]
    pub pids: Option<String>,
    /// CPU time as a number of CPUs (cpu.max), e.g. 0.5 or 2
    #[arg(long, value_name = "FLOAT")]
    pub cpus: Option<String>,
    /// CPU share against other cgroups, 1 to 10000 (cpu.weight; 100 is the default)
    #[arg(long, value_name = "N")]
    pub cpu_weight: Option<String>,
    /// I/O share, 1 to 10000 (io.weight; 100 is the default)
    #[arg(long, value_name = "N")]
    pub io_weight: Option<String>,
}

impl LimitArgs {
    fn flags(&self) -> crate::cgroup::ResourceFlags {
        crate::cgroup::ResourceFlags {
            memory: self.memory.clone(),
            memory_swap: self.memory_swap.clone(),
            pids: self.pids.clone(),
            cpus: self.cpus.clone(),
            cpu_weight: self.cpu_weight.clone(),
            io_weight: self.io_weight.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The environment
    pub name: String,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// For `hutch exec`/`enter` of an environment with limits: move this process into the
/// environment's cgroup first, so the command it starts there is held to the same limits. From a
/// login session's scope the kernel refuses the move; hutch then runs itself again in a scope of
/// its own, as for `hutch run` (see [`ensure_delegated`]).
fn join_cgroup(dirs: &StateDirs, name: &str) -> Result<(), Error> {
    use crate::cgroup;
    let Some(target) = crate::env::commands::running_cgroup(dirs, name)? else {
        return Ok(());
    };
    let err = match cgroup::join(&target, std::process::id()) {
        Ok(()) => return Ok(()),
        Err(e) if e.needs_scope() => e,
        Err(e) => return Err(e.into()),
    };
    run_again_in_scope(err)
}

/// Run this same command again in a delegated scope of its own from the user's systemd, and
/// end with its status; `err` is what stands in the way, returned where no user manager can be
/// asked.
fn run_again_in_scope(err: crate::cgroup::CgroupError) -> Result<(), Error> {
    use crate::cgroup;
    let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let Some(systemd_run) = cgroup::user_manager_reachable(&env) else {
        return Err(err.into());
    };
    let hutch = std::env::current_exe().map_err(|source| cgroup::CgroupError::Scope {
        program: "/proc/self/exe".into(),
        source,
    })?;
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    tracing::debug!(systemd_run = %systemd_run.display(), "running again in a delegated scope");
    let command = cgroup::scope_command(&systemd_run, &hutch, &args, std::process::id());
    let status = cgroup::run_in_scope(command)?;
    std::process::exit(i32::from(status))
}

/// With limits (or `own`: a cgroup wanted for the sandbox's init), make sure this process can give the sandbox a cgroup: where its own cgroup is
/// not delegated (a login shell's session scope), run this same command again in a scope of its
/// own from the user's systemd (`systemd-run --user --scope -p Delegate=yes`). Returns only when
/// no new scope is needed, or with the reason none can be had.
fn ensure_delegated(resources: &crate::cgroup::Resources, own: bool) -> Result<(), Error> {
    use crate::cgroup::{self, CgroupHost};
    if resources.is_empty() && !own {
        return Ok(());
    }
    let host = CgroupHost::current();
    let needed = resources.controllers();
    let err = match cgroup::find(&host, &needed) {
        // Out of the way at once: an environment's supervisor, forked from here, then starts
        // in the launcher's leaf while this process still waits for it in the same base.
        Ok(mut delegated) => return Ok(delegated.enter(host.pid, &needed)?),
        Err(e) if e.needs_scope() => e,
        Err(e) => return Err(e.into()),
    };
    run_again_in_scope(err)
}
