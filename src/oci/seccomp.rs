//! An engine's seccomp profile (`linux.seccomp`, the format of Docker's and podman's
//! seccomp.json) compiled to classic BPF with seccompiler.
//!
//! seccompiler builds a filter with one action for matching calls and one for the rest. A
//! profile has many actions, so each action gets a filter of its own, and the filters are laid
//! end to end: where one would answer "no match", it jumps to the next instead; after the last
//! comes the profile's default action. Filters run in libseccomp's order of precedence (kill
//! before trap before errno before trace before log before allow), so a call two rules match
//! gets the stronger action, as with runc. Before them all, calls of a foreign architecture or
//! of the x32 ABI kill the process: hutch filters its own architecture only.

use std::collections::BTreeMap;
use std::str::FromStr;

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator};
use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};
use syscalls::Sysno;

use super::config::ConfigError;

use crate::seccomp::prefix::{JA, JEQ_K, JGE_K, LD_W_ABS, RET_K, RET_KILL_PROCESS};

/// What a group's filter answers for "no match" before it is turned into a jump: SECCOMP_RET_TRACE
/// with a value no profile can ask for (profiles' trace values are refused above 0xfff0).
const NO_MATCH: u32 = 0x7ff0_0000 | 0xfffe;
const MAX_TRACE_VALUE: u32 = 0xfff0;

/// An action, ordered by libseccomp's precedence (strongest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    KillProcess,
    KillThread,
    Trap,
    Errno(u32),
    Trace(u32),
    Log,
    Allow,
}

impl Action {
    fn seccompiler(self) -> SeccompAction {
        match self {
            Action::KillProcess => SeccompAction::KillProcess,
            Action::KillThread => SeccompAction::KillThread,
            Action::Trap => SeccompAction::Trap,
            Action::Errno(e) => SeccompAction::Errno(e),
            Action::Trace(v) => SeccompAction::Trace(v),
            Action::Log => SeccompAction::Log,
            Action::Allow => SeccompAction::Allow,
        }
    }

    fn ret(self) -> u32 {
        u32::from(self.seccompiler())
    }
}

fn action(
    field: &str,
    action: LinuxSeccompAction,
    errno: Option<u32>,
) -> Result<Action, ConfigError> {
    let unsupported = |why: &str| ConfigError::Unsupported {
        field: field.to_owned(),
        why: why.to_owned(),
    };
    Ok(match action {
        // libseccomp's SCMP_ACT_KILL is SECCOMP_RET_KILL_THREAD.
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            Action::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => Action::KillProcess,
        LinuxSeccompAction::ScmpActTrap => Action::Trap,
        LinuxSeccompAction::ScmpActErrno => Action::Errno(errno.unwrap_or(libc::EPERM as u32)),
        LinuxSeccompAction::ScmpActTrace => {
            let value = errno.unwrap_or(libc::EPERM as u32);
            if value > MAX_TRACE_VALUE {
                return Err(unsupported("a trace value above 0xfff0"));
            }
            Action::Trace(value)
        }
        LinuxSeccompAction::ScmpActLog => Action::Log,
        LinuxSeccompAction::ScmpActAllow => Action::Allow,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(unsupported(
                "SCMP_ACT_NOTIFY: no seccomp agent is implemented",
            ))
        }
    })
}

fn operator(op: LinuxSeccompOperator, value: u64, value_two: Option<u64>) -> (SeccompCmpOp, u64) {
    match op {
        LinuxSeccompOperator::ScmpCmpNe => (SeccompCmpOp::Ne, value),
        LinuxSeccompOperator::ScmpCmpLt => (SeccompCmpOp::Lt, value),
        LinuxSeccompOperator::ScmpCmpLe => (SeccompCmpOp::Le, value),
        LinuxSeccompOperator::ScmpCmpEq => (SeccompCmpOp::Eq, value),
        LinuxSeccompOperator::ScmpCmpGe => (SeccompCmpOp::Ge, value),
        LinuxSeccompOperator::ScmpCmpGt => (SeccompCmpOp::Gt, value),
        // libseccomp: (arg & value) == valueTwo.
        LinuxSeccompOperator::ScmpCmpMaskedEq => {
            (SeccompCmpOp::MaskedEq(value), value_two.unwrap_or(0))
        }
    }
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

fn audit_arch() -> u32 {
    if cfg!(target_arch = "aarch64") {
        0xc000_00b7
    } else if cfg!(target_arch = "riscv64") {
        0xc000_00f3
    } else {
        0xc000_003e
    }
}

/// Rules of one action: call number → conditions (an empty list matches every call).
type Group = BTreeMap<i64, Vec<SeccompRule>>;

/// Compile `profile`. Names this architecture does not have are skipped, as libseccomp does.
pub fn compile(profile: &LinuxSeccomp) -> Result<BpfProgram, ConfigError> {
    let build_error = |e: seccompiler::BackendError| ConfigError::Invalid {
        field: "linux.seccomp".into(),
        why: e.to_string(),
    };
    if profile.flags().as_ref().is_some_and(|f| !f.is_empty()) {
        return Err(ConfigError::Unsupported {
            field: "linux.seccomp.flags".into(),
            why: "filter flags are not implemented".into(),
        });
    }
    if profile.listener_path().is_some() {
        return Err(ConfigError::Unsupported {
            field: "linux.seccomp.listenerPath".into(),
            why: "no seccomp agent is implemented".into(),
        });
    }
    let default = action(
        "linux.seccomp.defaultAction",
        profile.default_action(),
        profile.default_errno_ret(),
    )?;
    let mut groups: BTreeMap<Action, Group> = BTreeMap::new();
    // Calls with a rule that matches whatever the arguments, per action.
    let mut always: BTreeMap<Action, Vec<i64>> = BTreeMap::new();
    for (i, syscall) in profile.syscalls().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let act = action(
            &format!("{field}.action"),
            syscall.action(),
            syscall.errno_ret().or(match syscall.action() {
                LinuxSeccompAction::ScmpActErrno => profile.default_errno_ret(),
                _ => None,
            }),
        )?;
        if act == default {
            continue;
        }
        let mut conditions = Vec::new();
        for (j, arg) in syscall.args().iter().flatten().enumerate() {
            if arg.index() > 5 {
                return Err(ConfigError::Invalid {
                    field: format!("{field}.args[{j}].index"),
                    why: "system calls have arguments 0 to 5".into(),
                });
            }
            let (op, value) = operator(arg.op(), arg.value(), arg.value_two());
            conditions.push(
                SeccompCondition::new(arg.index() as u8, SeccompCmpArgLen::Qword, op, value)
                    .map_err(build_error)?,
            );
        }
        for name in syscall.names() {
            let Ok(sysno) = Sysno::from_str(name) else {
                continue;
            };
            let nr = sysno.id() as i64;
            if conditions.is_empty() {
                always.entry(act).or_default().push(nr);
            } else {
                groups
                    .entry(act)
                    .or_default()
                    .entry(nr)
                    .or_default()
                    .push(SeccompRule::new(conditions.clone()).map_err(build_error)?);
            }
        }
    }
    for (act, numbers) in always {
        let group = groups.entry(act).or_default();
        for nr in numbers {
            group.insert(nr, Vec::new());
        }
    }

    let op = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    let mut program: BpfProgram = vec![
        op(LD_W_ABS, 0, 0, 4),
        op(JEQ_K, 1, 0, audit_arch()),
        op(RET_K, 0, 0, RET_KILL_PROCESS),
    ];
    if cfg!(target_arch = "x86_64") {
        program.push(op(LD_W_ABS, 0, 0, 0));
        program.push(op(JGE_K, 0, 1, 0x4000_0000));
        program.push(op(RET_K, 0, 0, RET_KILL_PROCESS));
    }
    for (act, rules) in groups {
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Trace(NO_MATCH & 0xffff),
            act.seccompiler(),
            target_arch(),
        )
        .map_err(build_error)?;
        let mut part: BpfProgram = filter.try_into().map_err(build_error)?;
        let len = part.len();
        for (at, insn) in part.iter_mut().enumerate() {
            if insn.code == RET_K && insn.k == NO_MATCH {
                *insn = op(JA, 0, 0, (len - at - 1) as u32);
            }
        }
        program.extend(part);
    }
    program.push(op(RET_K, 0, 0, default.ret()));
    Ok(program)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: &str) -> LinuxSeccomp {
        serde_json::from_str(json).unwrap()
    }

    /// Run `program` (classic BPF, as the kernel would) on a call `nr` with `args`.
    fn run(program: &BpfProgram, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = Vec::new();
        data.extend_from_slice(&nr.to_ne_bytes());
        data.extend_from_slice(&audit_arch().to_ne_bytes());
        data.extend_from_slice(&0u64.to_ne_bytes());
        for a in args {
            data.extend_from_slice(&a.to_ne_bytes());
        }
        let word = |off: u32| {
            let o = off as usize;
            u32::from_ne_bytes(data[o..o + 4].try_into().unwrap())
        };
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let insn = &program[pc];
            pc += 1;
            match insn.code {
                0x20 => acc = word(insn.k),
                0x06 => return insn.k,
                0x05 => pc += insn.k as usize,
                0x15 | 0x35 | 0x25 | 0x45 => {
                    let hit = match insn.code {
                        0x15 => acc == insn.k,
                        0x35 => acc >= insn.k,
                        0x25 => acc > insn.k,
                        _ => acc & insn.k != 0,
                    };
                    pc += if hit { insn.jt } else { insn.jf } as usize;
                }
                0x54 => acc &= insn.k,
                code => panic!("instruction {code:#x} not modelled"),
            }
        }
    }

    const ERRNO: u32 = 0x0005_0000;
    const ALLOW: u32 = 0x7fff_0000;

    #[test]
    fn allow_list_with_a_default_errno() {
        let program = compile(&profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,
                "syscalls":[{"names":["getpid","read","no_such_call"],"action":"SCMP_ACT_ALLOW"},
                            {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#,
        ))
        .unwrap();
        assert_eq!(run(&program, Sysno::getpid.id() as u32, [0; 6]), ALLOW);
        assert_eq!(run(&program, Sysno::read.id() as u32, [0; 6]), ALLOW);
        assert_eq!(run(&program, Sysno::mkdir.id() as u32, [0; 6]), ERRNO | 1);
        assert_eq!(
            run(&program, Sysno::getppid.id() as u32, [0; 6]),
            ERRNO | 38
        );
    }

    #[test]
    fn argument_conditions_and_precedence() {
        let program = compile(&profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW",
                "syscalls":[{"names":["personality"],"action":"SCMP_ACT_ERRNO",
                             "args":[{"index":0,"value":8,"op":"SCMP_CMP_NE"}]},
                            {"names":["personality"],"action":"SCMP_ACT_KILL_PROCESS",
                             "args":[{"index":0,"value":255,"valueTwo":255,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#,
        ))
        .unwrap();
        let nr = Sysno::personality.id() as u32;
        assert_eq!(run(&program, nr, [8, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(run(&program, nr, [9, 0, 0, 0, 0, 0]), ERRNO | 1);
        assert_eq!(run(&program, nr, [255, 0, 0, 0, 0, 0]), RET_KILL_PROCESS);
    }

    #[test]
    fn notify_and_flags_are_refused_by_name() {
        let err = compile(&profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW",
                "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        ))
        .unwrap_err();
        assert!(
            err.to_string().contains("linux.seccomp.syscalls[0].action"),
            "{err}"
        );
        let err = compile(&profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG"]}"#,
        ))
        .unwrap_err();
        assert!(err.to_string().contains("linux.seccomp.flags"), "{err}");
    }
}
