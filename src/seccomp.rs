//! The seccomp filter (seccomp(2)): which system calls the sandbox may not make.
//!
//! Namespaces and mounts decide what exists; this filter shrinks the kernel's attack surface
//! underneath them. It is a deny-list, so ordinary programs run unchanged: each denied call
//! fails with EPERM, `clone3` with ENOSYS (so that libc falls back to `clone`, whose flags a
//! classic BPF filter can inspect), and calls through the x32 ABI or a foreign architecture kill
//! the process. The policy is data: profiles add names to `deny` and remove them with `allow`.
//! [`policy`] and [`compile`] are pure; [`apply`] installs the program.

use std::collections::BTreeMap;
use std::str::FromStr;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use syscalls::Sysno;

mod prefix;

/// When a rule applies to its system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Always,
    /// `ioctl` with this request. Compared as 32 bits, as the kernel does: a request with high
    /// bits set must not slip past the filter (CVE-2019-10063).
    IoctlRequest(u32),
    /// Any of these bits set in the first argument (`clone`/`unshare` flags).
    FlagsInFirstArg(u64),
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
            SeccompError::Install(_) => Some(format!(
                "the kernel refused the filter; seccomp may be disabled (CONFIG_SECCOMP_FILTER); {}",
                crate::diagnose::SEE_CHECK
            )),
            SeccompError::Build(_) => None,
        }
    }
}

/// The resolved policy: the deny rules after a profile's `deny` and `allow`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeccompPolicy {
    pub rules: Vec<DenyRule>,
    /// Default rules a profile removed, for --explain.
    pub allowed: Vec<String>,
}

fn known(name: &str) -> bool {
    Sysno::from_str(name).is_ok()
}

/// The default deny-list, plus `deny`, minus every rule for a call named in `allow`.
pub fn policy(deny: &[String], allow: &[String]) -> Result<SeccompPolicy, SeccompError> {
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
    let allowed = allow
        .iter()
        .filter(|a| DEFAULT_DENY.iter().any(|(n, _, _)| n == a))
        .cloned()
        .collect();
    Ok(SeccompPolicy { rules, allowed })
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
    let listed: Vec<u32> = deny.keys().map(|&nr| nr as u32).collect();
    let mut program = prefix::prefix(&listed, Sysno::clone3.id() as u32);
    program.extend(build(deny, SeccompAction::Errno(libc::EPERM as u32))?);
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
        let p = policy(&[], &[]).unwrap();
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
    fn profiles_extend_and_trim_the_list() {
        let p = policy(&["ptrace".into()], &["unshare".into(), "clone".into()]).unwrap();
        assert!(names(&p).contains(&"ptrace"));
        assert!(!names(&p).contains(&"unshare") && !names(&p).contains(&"clone"));
        assert_eq!(p.allowed, ["unshare", "clone"]);
        assert!(matches!(
            policy(&["no_such_call".into()], &[]),
            Err(SeccompError::UnknownSyscall { list: "deny", .. })
        ));
        assert!(matches!(
            policy(&[], &["nope".into()]),
            Err(SeccompError::UnknownSyscall { list: "allow", .. })
        ));
    }

    #[test]
    fn the_compiled_program_decides_as_the_policy_says() {
        use prefix::tests::run;
        use prefix::{AUDIT_ARCH, RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS};
        let program = compile(&policy(&[], &[]).unwrap()).unwrap();
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
        let open = compile(&policy(&[], &["keyctl".into()]).unwrap()).unwrap();
        assert_eq!(
            run(&open, AUDIT_ARCH, libc::SYS_keyctl as u32, [0; 6]),
            RET_ALLOW
        );
    }

    #[test]
    fn filter_denies_in_a_thread_of_its_own() {
        use crate::sys::{probe_syscall, Errno};
        let program = compile(&policy(&[], &[]).unwrap()).unwrap();
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
