//! The seccomp filter (seccomp(2)): which system calls the sandbox may not make.
//!
//! Namespaces and mounts decide what exists; this filter shrinks the kernel's attack surface
//! underneath them. It is a deny-list, so ordinary programs run unchanged: each denied call
//! fails with EPERM; `clone3` fails with ENOSYS (so that libc falls back to `clone`, whose flags a
//! classic BPF filter can inspect), and so do `listmount` and `statmount` (so that programs fall
//! back to /proc/self/mountinfo); calls through the x32 ABI or a foreign architecture kill the
//! process. `socket(2)` and `socketpair(2)` may only make the address families an ordinary
//! program needs ([`DEFAULT_SOCKET_FAMILIES`]). The policy is data: profiles add names to `deny`,
//! remove them with `allow`, and add families with `allow_socket_families`.
//! [`policy`] and [`compile`] are pure; [`apply`] installs the program.

use std::collections::BTreeMap;
use std::str::FromStr;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use syscalls::Sysno;

pub(crate) mod prefix;

/// When a rule applies to its system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Always,
    /// `ioctl` with this request. Compared as 32 bits, as the kernel does: a request with high
    /// bits set must not slip past the filter (CVE-2019-10063).
    IoctlRequest(u32),
    /// Any of these bits set in the first argument (`clone`/`unshare` flags).
    FlagsInFirstArg(u64),
    /// `personality` setting this flag. The query `personality(0xffffffff)`, which changes
    /// nothing, has every bit set and stays allowed.
    PersonalityFlag(u32),
    /// `socket`/`socketpair` with an address family (first argument) outside this set, one bit
    /// per family number. Compared as 32 bits: the kernel reads an `int`.
    SocketFamilyNotIn(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenyRule {
    pub syscall: String,
    pub when: Condition,
    pub why: &'static str,
}

const TIOCSTI: u32 = 0x5412;
const TIOCLINUX: u32 = 0x541C;
const CLONE_NEWUSER: u64 = libc::CLONE_NEWUSER as u64;
/// linux/personality.h: readable mappings become executable, and page 0 is mapped.
pub const READ_IMPLIES_EXEC: u32 = 0x0040_0000;
pub const MMAP_PAGE_ZERO: u32 = 0x0010_0000;
/// `personality(2)`'s query: returns the persona and changes nothing.
const PERSONALITY_QUERY: u32 = 0xffff_ffff;

/// Socket address families by name (linux/socket.h), for profiles and --explain.
pub const SOCKET_FAMILIES: &[(&str, i32)] = &[
    ("unix", libc::AF_UNIX),
    ("inet", libc::AF_INET),
    ("ax25", libc::AF_AX25),
    ("ipx", libc::AF_IPX),
    ("appletalk", libc::AF_APPLETALK),
    ("netrom", libc::AF_NETROM),
    ("bridge", libc::AF_BRIDGE),
    ("atmpvc", libc::AF_ATMPVC),
    ("x25", libc::AF_X25),
    ("inet6", libc::AF_INET6),
    ("rose", libc::AF_ROSE),
    ("decnet", libc::AF_DECnet),
    ("netbeui", libc::AF_NETBEUI),
    ("security", libc::AF_SECURITY),
    ("key", libc::AF_KEY),
    ("netlink", libc::AF_NETLINK),
    ("packet", libc::AF_PACKET),
    ("ash", libc::AF_ASH),
    ("econet", libc::AF_ECONET),
    ("atmsvc", libc::AF_ATMSVC),
    ("rds", libc::AF_RDS),
    ("sna", libc::AF_SNA),
    ("irda", libc::AF_IRDA),
    ("pppox", libc::AF_PPPOX),
    ("wanpipe", libc::AF_WANPIPE),
    ("llc", libc::AF_LLC),
    ("ib", libc::AF_IB),
    ("mpls", libc::AF_MPLS),
    ("can", libc::AF_CAN),
    ("tipc", libc::AF_TIPC),
    ("bluetooth", libc::AF_BLUETOOTH),
    ("iucv", libc::AF_IUCV),
    ("rxrpc", libc::AF_RXRPC),
    ("isdn", libc::AF_ISDN),
    ("phonet", libc::AF_PHONET),
    ("ieee802154", libc::AF_IEEE802154),
    ("caif", libc::AF_CAIF),
    ("alg", libc::AF_ALG),
    ("nfc", libc::AF_NFC),
    ("vsock", libc::AF_VSOCK),
    ("kcm", 41),
    ("qipcrtr", 42),
    ("smc", 43),
    ("xdp", libc::AF_XDP),
    ("mctp", 45),
];

/// The families every sandbox may use: local sockets, IPv4 and IPv6, netlink (iproute2, and
/// glibc's getaddrinfo and getifaddrs ask the kernel through it) and packet sockets (which the
/// kernel grants only with CAP_NET_RAW in the sandbox's own network namespace). Everything
/// else is a rarely used protocol with a long CVE history (AF_ALG, AF_KEY, AF_TIPC, AF_RDS,
/// AF_CAN, AF_BLUETOOTH, AF_X25, ...) or, like AF_VSOCK, reaches past the network namespace to
/// the host or hypervisor.
pub const DEFAULT_SOCKET_FAMILIES: &[&str] = &["unix", "inet", "inet6", "netlink", "packet"];

/// A family set as a mask, one bit per family number.
fn family_mask(names: &[&str]) -> u64 {
    names
        .iter()
        .filter_map(|name| socket_family(name))
        .fold(0, |mask, family| mask | 1 << family)
}

fn socket_family(name: &str) -> Option<i32> {
    SOCKET_FAMILIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, family)| family)
}

/// The names of the families in `mask`, in number order.
pub fn family_names(mask: u64) -> Vec<&'static str> {
    SOCKET_FAMILIES
        .iter()
        .filter(|(_, family)| mask & (1 << family) != 0)
        .map(|&(name, _)| name)
        .collect()
}

/// Calls that fail with ENOSYS, as if this kernel did not have them: (call, may a profile
/// allow it, why).
const DEFAULT_ENOSYS: &[(&str, bool, &str)] = &[
    (
        "clone3",
        false,
        "its flags are behind a pointer the filter cannot read; libc falls back to clone",
    ),
    (
        "listmount",
        true,
        "new mount-table interface; programs fall back to /proc/self/mountinfo",
    ),
    (
        "statmount",
        true,
        "new mount-table interface; programs fall back to /proc/self/mountinfo",
    ),
];

/// The built-in deny-list: (system call, condition, why).
const DEFAULT_DENY: &[(&str, Condition, &str)] = &[
    (
        "ioctl",
        Condition::IoctlRequest(TIOCSTI),
        "TIOCSTI types into the terminal of the caller's session",
    ),
    (
        "ioctl",
        Condition::IoctlRequest(TIOCLINUX),
        "TIOCLINUX can paste into the console",
    ),
    (
        "keyctl",
        Condition::Always,
        "kernel keyrings are not namespaced",
    ),
    (
        "add_key",
        Condition::Always,
        "kernel keyrings are not namespaced",
    ),
    (
        "request_key",
        Condition::Always,
        "kernel keyrings are not namespaced",
    ),
    (
        "bpf",
        Condition::Always,
        "eBPF is a large kernel attack surface",
    ),
    (
        "perf_event_open",
        Condition::Always,
        "performance events leak host activity",
    ),
    (
        "userfaultfd",
        Condition::Always,
        "a common kernel exploitation primitive",
    ),
    (
        "io_uring_setup",
        Condition::Always,
        "io_uring bypasses this very filter",
    ),
    (
        "io_uring_enter",
        Condition::Always,
        "io_uring bypasses this very filter",
    ),
    (
        "io_uring_register",
        Condition::Always,
        "io_uring bypasses this very filter",
    ),
    (
        "open_by_handle_at",
        Condition::Always,
        "opens files by handle, around the mount tree",
    ),
    (
        "name_to_handle_at",
        Condition::Always,
        "pairs with open_by_handle_at",
    ),
    (
        "kexec_load",
        Condition::Always,
        "replaces the running kernel",
    ),
    (
        "kexec_file_load",
        Condition::Always,
        "replaces the running kernel",
    ),
    ("init_module", Condition::Always, "loads kernel code"),
    ("finit_module", Condition::Always, "loads kernel code"),
    ("delete_module", Condition::Always, "unloads kernel code"),
    ("iopl", Condition::Always, "raw I/O port access"),
    ("ioperm", Condition::Always, "raw I/O port access"),
    ("swapon", Condition::Always, "host swap configuration"),
    ("swapoff", Condition::Always, "host swap configuration"),
    ("acct", Condition::Always, "host process accounting"),
    (
        "settimeofday",
        Condition::Always,
        "the clock is not namespaced",
    ),
    (
        "clock_settime",
        Condition::Always,
        "the clock is not namespaced",
    ),
    (
        "fanotify_init",
        Condition::Always,
        "watches file systems beyond the sandbox",
    ),
    ("quotactl", Condition::Always, "host quota configuration"),
    ("lookup_dcookie", Condition::Always, "leaks host paths"),
    (
        "kcmp",
        Condition::Always,
        "compares kernel objects of other processes (a kernel-pointer oracle)",
    ),
    (
        "mount_setattr",
        Condition::Always,
        "changes mount properties; the sandbox's mounts are fixed at set-up",
    ),
    (
        "personality",
        Condition::PersonalityFlag(READ_IMPLIES_EXEC),
        "READ_IMPLIES_EXEC makes every readable mapping executable",
    ),
    (
        "personality",
        Condition::PersonalityFlag(MMAP_PAGE_ZERO),
        "MMAP_PAGE_ZERO maps page 0, a NULL-dereference exploitation aid",
    ),
    (
        "unshare",
        Condition::FlagsInFirstArg(CLONE_NEWUSER),
        "nested user namespaces widen the kernel surface",
    ),
    (
        "clone",
        Condition::FlagsInFirstArg(CLONE_NEWUSER),
        "nested user namespaces widen the kernel surface",
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("seccomp.{list}: unknown system call {name:?}")]
    UnknownSyscall { list: &'static str, name: String },
    #[error("seccomp.allow_socket_families: unknown address family {name:?}")]
    UnknownSocketFamily { name: String },
    #[error("cannot build the seccomp filter")]
    Build(#[source] seccompiler::BackendError),
    #[error("cannot install the seccomp filter")]
    Install(#[source] seccompiler::Error),
}

impl SeccompError {
    pub fn hint(&self) -> Option<String> {
        match self {
            SeccompError::UnknownSyscall { .. } => Some(
                "use the kernel's name for the call, as in syscalls(2), e.g. \"ptrace\"".into(),
            ),
            SeccompError::UnknownSocketFamily { .. } => Some(format!(
                "name a family as in socket(2) without AF_, in lower case: {}",
                SOCKET_FAMILIES
                    .iter()
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            SeccompError::Install(_) => Some(format!(
                "the kernel refused the filter; seccomp may be disabled (CONFIG_SECCOMP_FILTER); {}",
                crate::diagnose::SEE_CHECK
            )),
            SeccompError::Build(_) => None,
        }
    }
}

/// The resolved policy: the deny rules after a profile's `deny`, `allow` and
/// `allow_socket_families`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeccompPolicy {
    pub rules: Vec<DenyRule>,
    /// Calls that fail with ENOSYS, and why.
    pub enosys: Vec<(String, &'static str)>,
    /// Default rules a profile removed, and socket families it added, for --explain.
    pub allowed: Vec<String>,
}

impl SeccompPolicy {
    /// Whether every call it denies is one hutch denies by default, none a profile added. hutch's
    /// own set-up makes none of those calls once its mounts are built, so such a filter may be
    /// installed while the rest of the set-up still runs (see `child::set_up`).
    pub fn denies_only_builtin(&self) -> bool {
        self.rules.iter().all(|rule| {
            rule.syscall == "socket"
                || rule.syscall == "socketpair"
                || DEFAULT_DENY
                    .iter()
                    .any(|(name, _, _)| *name == rule.syscall)
        })
    }
}

fn known(name: &str) -> bool {
    Sysno::from_str(name).is_ok()
}

/// The default deny-list, plus `deny`, minus every rule for a call named in `allow`; socket
/// families in `socket_families` are allowed on top of [`DEFAULT_SOCKET_FAMILIES`].
pub fn policy(
    deny: &[String],
    allow: &[String],
    socket_families: &[String],
) -> Result<SeccompPolicy, SeccompError> {
    for name in allow {
        if !known(name) {
            return Err(SeccompError::UnknownSyscall {
                list: "allow",
                name: name.clone(),
            });
        }
    }
    // Calls that do not exist on this architecture (iopl on arm64) need no rule.
    let mut rules: Vec<DenyRule> = DEFAULT_DENY
        .iter()
        .filter(|(name, _, _)| known(name) && !allow.iter().any(|a| a == name))
        .map(|&(name, when, why)| DenyRule {
            syscall: name.into(),
            when,
            why,
        })
        .collect();
    let mut families = family_mask(DEFAULT_SOCKET_FAMILIES);
    let mut added_families = Vec::new();
    for name in socket_families {
        let family = socket_family(name)
            .ok_or_else(|| SeccompError::UnknownSocketFamily { name: name.clone() })?;
        if families & (1 << family) == 0 {
            added_families.push(format!("socket family {name}"));
        }
        families |= 1 << family;
    }
    for call in ["socket", "socketpair"] {
        if !allow.iter().any(|a| a == call) {
            rules.push(DenyRule {
                syscall: call.into(),
                when: Condition::SocketFamilyNotIn(families),
                why: "address families an ordinary program does not need",
            });
        }
    }
    for name in deny {
        if !known(name) {
            return Err(SeccompError::UnknownSyscall {
                list: "deny",
                name: name.clone(),
            });
        }
        rules.push(DenyRule {
            syscall: name.clone(),
            when: Condition::Always,
            why: "denied by the profile",
        });
    }
    let enosys = DEFAULT_ENOSYS
        .iter()
        .filter(|(name, allowable, _)| {
            known(name) && !(*allowable && allow.iter().any(|a| a == name))
        })
        .map(|&(name, _, why)| (name.to_owned(), why))
        .collect();
    let listed = |a: &String| {
        DEFAULT_DENY.iter().any(|(n, _, _)| n == a)
            || DEFAULT_ENOSYS
                .iter()
                .any(|(n, allowable, _)| *allowable && n == a)
            || a == "socket"
            || a == "socketpair"
    };
    let mut allowed: Vec<String> = allow.iter().filter(|a| listed(a)).cloned().collect();
    allowed.extend(added_families);
    Ok(SeccompPolicy {
        rules,
        enosys,
        allowed,
    })
}

fn target_arch() -> TargetArch {
    if cfg!(target_arch = "aarch64") {
        TargetArch::aarch64
    } else if cfg!(target_arch = "riscv64") {
        TargetArch::riscv64
    } else {
        TargetArch::x86_64
    }
}

fn condition(when: Condition) -> Result<Option<SeccompRule>, seccompiler::BackendError> {
    let cond = match when {
        Condition::Always => return Ok(None),
        Condition::PersonalityFlag(flag) => {
            let flag = flag as u64;
            return Ok(Some(SeccompRule::new(vec![
                SeccompCondition::new(
                    0,
                    SeccompCmpArgLen::Dword,
                    SeccompCmpOp::MaskedEq(flag),
                    flag,
                )?,
                SeccompCondition::new(
                    0,
                    SeccompCmpArgLen::Dword,
                    SeccompCmpOp::Ne,
                    PERSONALITY_QUERY as u64,
                )?,
            ])?));
        }
        Condition::SocketFamilyNotIn(allowed) => {
            // All conditions of a rule must hold: the family is none of the allowed ones.
            let conditions = (0..64)
                .filter(|family| allowed & (1 << family) != 0)
                .map(|family| {
                    SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, family)
                })
                .collect::<Result<Vec<_>, _>>()?;
            if conditions.is_empty() {
                return Ok(None);
            }
            return Ok(Some(SeccompRule::new(conditions)?));
        }
        Condition::IoctlRequest(request) => {
            SeccompCondition::new(1, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, request as u64)?
        }
        Condition::FlagsInFirstArg(bits) => SeccompCondition::new(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(bits),
            bits,
        )?,
    };
    Ok(Some(SeccompRule::new(vec![cond])?))
}

/// The BPF program for `policy`: the prefix (see [`prefix`]), then the deny list.
pub fn compile(policy: &SeccompPolicy) -> Result<BpfProgram, SeccompError> {
    let mut deny: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let mut unconditional = Vec::new();
    for rule in &policy.rules {
        let nr = Sysno::from_str(&rule.syscall)
            .map_err(|_| SeccompError::UnknownSyscall {
                list: "deny",
                name: rule.syscall.clone(),
            })?
            .id() as i64;
        match condition(rule.when).map_err(SeccompError::Build)? {
            Some(r) => deny.entry(nr).or_default().push(r),
            None => unconditional.push(nr),
        }
    }
    // An empty rule list matches the call whatever its arguments.
    for nr in unconditional {
        deny.insert(nr, Vec::new());
    }
    let build = |rules, action| -> Result<BpfProgram, SeccompError> {
        let filter = SeccompFilter::new(rules, SeccompAction::Allow, action, target_arch())
            .map_err(SeccompError::Build)?;
        filter.try_into().map_err(SeccompError::Build)
    };
    // Calls denied whatever their arguments are answered by the prefix's search; the chain
    // after it holds only the calls it must decide on their arguments.
    let listed: Vec<(u32, prefix::Listed)> = deny
        .iter()
        .map(|(&nr, rules)| {
            let answer = if rules.is_empty() {
                prefix::Listed::Denied
            } else {
                prefix::Listed::ByArguments
            };
            (nr as u32, answer)
        })
        .collect();
    deny.retain(|_, rules| !rules.is_empty());
    let mut enosys = Vec::new();
    for (name, _) in &policy.enosys {
        let nr = Sysno::from_str(name).map_err(|_| SeccompError::UnknownSyscall {
            list: "deny",
            name: name.clone(),
        })?;
        enosys.push(nr.id() as u32);
    }
    let mut program = prefix::prefix(&listed, &enosys);
    if !deny.is_empty() {
        program.extend(build(deny, SeccompAction::Errno(libc::EPERM as u32))?);
    }
    Ok(program)
}

/// Install `program` on this thread (inherited by its children). Needs no_new_privs.
pub fn apply(program: &BpfProgram) -> Result<(), SeccompError> {
    seccompiler::apply_filter(program).map_err(SeccompError::Install)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(policy: &SeccompPolicy) -> Vec<&str> {
        policy.rules.iter().map(|r| r.syscall.as_str()).collect()
    }

    #[test]
    fn default_denies_the_listed_calls() {
        let p = policy(&[], &[], &[]).unwrap();
        for call in [
            "keyctl",
            "bpf",
            "perf_event_open",
            "userfaultfd",
            "io_uring_setup",
            "kexec_load",
            "unshare",
        ] {
            assert!(names(&p).contains(&call), "{call}");
        }
        assert!(p.rules.contains(&DenyRule {
            syscall: "ioctl".into(),
            when: Condition::IoctlRequest(TIOCSTI),
            why: DEFAULT_DENY[0].2
        }));
        assert!(!names(&p).contains(&"ptrace"));
    }

    #[test]
    fn only_a_profiles_own_denials_keep_seccomp_last() {
        assert!(policy(&[], &[], &[]).unwrap().denies_only_builtin());
        assert!(
            policy(&[], &["ptrace".into(), "bpf".into()], &["alg".into()])
                .unwrap()
                .denies_only_builtin()
        );
        assert!(policy(&["bpf".into()], &[], &[])
            .unwrap()
            .denies_only_builtin());
        assert!(!policy(&["prctl".into()], &[], &[])
            .unwrap()
            .denies_only_builtin());
    }

    #[test]
    fn profiles_extend_and_trim_the_list() {
        let p = policy(&["ptrace".into()], &["unshare".into(), "clone".into()], &[]).unwrap();
        assert!(names(&p).contains(&"ptrace"));
        assert!(!names(&p).contains(&"unshare") && !names(&p).contains(&"clone"));
        assert_eq!(p.allowed, ["unshare", "clone"]);
        assert!(matches!(
            policy(&["no_such_call".into()], &[], &[]),
            Err(SeccompError::UnknownSyscall { list: "deny", .. })
        ));
        assert!(matches!(
            policy(&[], &["nope".into()], &[]),
            Err(SeccompError::UnknownSyscall { list: "allow", .. })
        ));
    }

    #[test]
    fn the_compiled_program_decides_as_the_policy_says() {
        use prefix::tests::run;
        use prefix::{AUDIT_ARCH, RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS};
        let program = compile(&policy(&[], &[], &[]).unwrap()).unwrap();
        let call = |nr: i64, args: [u64; 6]| run(&program, AUDIT_ARCH, nr as u32, args);
        let eperm = RET_ERRNO | libc::EPERM as u32;
        assert_eq!(call(libc::SYS_keyctl, [0; 6]), eperm);
        assert_eq!(call(libc::SYS_getppid, [0; 6]), RET_ALLOW);
        assert_eq!(
            call(libc::SYS_clone3, [0; 6]),
            RET_ERRNO | libc::ENOSYS as u32
        );
        let ioctl = |request: u64| call(libc::SYS_ioctl, [0, request, 0, 0, 0, 0]);
        assert_eq!(ioctl(TIOCSTI as u64), eperm);
        assert_eq!(ioctl(0xdead_0000_0000 | TIOCSTI as u64), eperm);
        assert_eq!(ioctl(libc::TCGETS), RET_ALLOW);
        let clone = |flags: i32| call(libc::SYS_clone, [flags as u64, 0, 0, 0, 0, 0]);
        assert_eq!(clone(libc::CLONE_NEWUSER), eperm);
        assert_eq!(clone(libc::SIGCHLD), RET_ALLOW);
        assert_eq!(run(&program, 0x4000_0003, 1, [0; 6]), RET_KILL_PROCESS);
        // Allowed through the profile: off the list, so the search answers at once.
        let open = compile(&policy(&[], &["keyctl".into()], &[]).unwrap()).unwrap();
        assert_eq!(
            run(&open, AUDIT_ARCH, libc::SYS_keyctl as u32, [0; 6]),
            RET_ALLOW
        );
    }

    #[test]
    fn a_list_without_argument_checks_is_the_prefix_alone() {
        use prefix::tests::run;
        use prefix::{AUDIT_ARCH, RET_ALLOW, RET_ERRNO};
        let default = policy(&[], &[], &[]).unwrap();
        let by_arguments: Vec<String> = default
            .rules
            .iter()
            .filter(|rule| rule.when != Condition::Always)
            .map(|rule| rule.syscall.clone())
            .collect();
        assert!(by_arguments.contains(&"ioctl".to_owned()));
        let full = compile(&default).unwrap();
        let program = compile(&policy(&[], &by_arguments, &[]).unwrap()).unwrap();
        assert!(program.len() < full.len());
        // Every jump lands inside the program: nothing is left to a chain that is not there.
        for (at, insn) in program.iter().enumerate() {
            let targets = match insn.code {
                prefix::JA => vec![insn.k as usize],
                prefix::JEQ_K | prefix::JGE_K => vec![insn.jt as usize, insn.jf as usize],
                _ => vec![],
            };
            for offset in targets {
                assert!(
                    at + 1 + offset < program.len(),
                    "jump at {at} leaves the program"
                );
            }
        }
        let call = |nr: i64| {
            run(
                &program,
                AUDIT_ARCH,
                nr as u32,
                [0, TIOCSTI as u64, 0, 0, 0, 0],
            )
        };
        assert_eq!(call(libc::SYS_keyctl), RET_ERRNO | libc::EPERM as u32);
        assert_eq!(call(libc::SYS_ioctl), RET_ALLOW);
        assert_eq!(call(libc::SYS_getppid), RET_ALLOW);
    }

    #[test]
    fn socket_families_personality_and_mount_calls() {
        use prefix::tests::run;
        use prefix::{AUDIT_ARCH, RET_ALLOW, RET_ERRNO};
        let eperm = RET_ERRNO | libc::EPERM as u32;
        let enosys = RET_ERRNO | libc::ENOSYS as u32;
        let program = compile(&policy(&[], &[], &[]).unwrap()).unwrap();
        let call =
            |nr: i64, first: u64| run(&program, AUDIT_ARCH, nr as u32, [first, 1, 0, 0, 0, 0]);
        for family in [
            libc::AF_UNIX,
            libc::AF_INET,
            libc::AF_INET6,
            libc::AF_NETLINK,
            libc::AF_PACKET,
        ] {
            assert_eq!(call(libc::SYS_socket, family as u64), RET_ALLOW, "{family}");
        }
        for family in [
            libc::AF_VSOCK,
            libc::AF_ALG,
            libc::AF_KEY,
            libc::AF_BLUETOOTH,
            libc::AF_TIPC,
            63,
            200,
        ] {
            assert_eq!(call(libc::SYS_socket, family as u64), eperm, "{family}");
            assert_eq!(call(libc::SYS_socketpair, family as u64), eperm, "{family}");
        }
        // The kernel reads an int: high bits change nothing, for better or worse.
        assert_eq!(
            call(libc::SYS_socket, 0xdead_0000_0000 | libc::AF_VSOCK as u64),
            eperm
        );
        assert_eq!(
            call(libc::SYS_socket, 0xdead_0000_0000 | libc::AF_INET as u64),
            RET_ALLOW
        );
        assert_eq!(call(libc::SYS_socketpair, libc::AF_UNIX as u64), RET_ALLOW);

        assert_eq!(call(libc::SYS_personality, 0), RET_ALLOW);
        assert_eq!(call(libc::SYS_personality, 0xffff_ffff), RET_ALLOW);
        assert_eq!(
            call(libc::SYS_personality, 0x0004_0000),
            RET_ALLOW,
            "ADDR_NO_RANDOMIZE"
        );
        assert_eq!(call(libc::SYS_personality, READ_IMPLIES_EXEC as u64), eperm);
        assert_eq!(
            call(libc::SYS_personality, MMAP_PAGE_ZERO as u64 | 0x0004_0000),
            eperm
        );

        assert_eq!(call(libc::SYS_kcmp, 1), eperm);
        assert_eq!(call(libc::SYS_mount_setattr, 0), eperm);
        for nr in [Sysno::listmount, Sysno::statmount, Sysno::clone3] {
            assert_eq!(call(nr.id() as i64, 0), enosys, "{nr}");
        }

        let vsock = policy(&[], &["listmount".into()], &["vsock".into()]).unwrap();
        assert_eq!(vsock.allowed, ["listmount", "socket family vsock"]);
        let open = compile(&vsock).unwrap();
        let call = |nr: i64, first: u64| run(&open, AUDIT_ARCH, nr as u32, [first, 1, 0, 0, 0, 0]);
        assert_eq!(call(libc::SYS_socket, libc::AF_VSOCK as u64), RET_ALLOW);
        assert_eq!(call(libc::SYS_socket, libc::AF_ALG as u64), eperm);
        assert_eq!(call(Sysno::listmount.id() as i64, 0), RET_ALLOW);
        assert_eq!(call(Sysno::statmount.id() as i64, 0), enosys);
        assert!(matches!(
            policy(&[], &[], &["af_vsock".into()]),
            Err(SeccompError::UnknownSocketFamily { .. })
        ));
        // clone3 cannot be allowed: its flags are out of the filter's reach.
        let clone3 = compile(&policy(&[], &["clone3".into()], &[]).unwrap()).unwrap();
        assert_eq!(
            run(&clone3, AUDIT_ARCH, Sysno::clone3.id() as u32, [0; 6]),
            enosys
        );
    }

    #[test]
    fn filter_denies_in_a_thread_of_its_own() {
        use crate::sys::{probe_syscall, Errno};
        let program = compile(&policy(&[], &[], &[]).unwrap()).unwrap();
        // Unfiltered, these calls with zero arguments fail for their arguments (EINVAL and the
        // like); only the filter answers EPERM or ENOSYS.
        assert_ne!(probe_syscall(libc::SYS_keyctl), Some(Errno::EPERM));
        // Never install a filter in the test harness's own threads, nor fork from it (it is
        // multi-threaded, see crate::child): no_new_privs and a filter installed without TSYNC
        // hold for the calling thread alone, so a thread of its own takes them, and ends.
        let code = std::thread::spawn(move || {
            let installed = crate::sys::set_no_new_privs().is_ok() && apply(&program).is_ok();
            if !installed {
                10
            } else if probe_syscall(libc::SYS_keyctl) != Some(Errno::EPERM) {
                11
            } else if probe_syscall(libc::SYS_clone3) != Some(Errno::ENOSYS) {
                12
            } else {
                0
            }
        })
        .join()
        .unwrap();
        assert_eq!(code, 0);
        assert_ne!(probe_syscall(libc::SYS_keyctl), Some(Errno::EPERM));
    }
}
