//! The classic BPF (linux/filter.h, linux/seccomp.h) that runs before seccompiler's deny list.
//!
//! It refuses what is refused whatever the deny list says (a foreign architecture, the x32 ABI,
//! the calls that fail with ENOSYS such as clone3), then answers at once, through a binary
//! search over the listed call numbers, for every call whose answer does not depend on its
//! arguments: "allow" for a call that is not on the list, EPERM for one denied whatever its
//! arguments. seccompiler's list is a linear chain of comparisons; without the search the kernel
//! walks all of it for every allowed call, and it does so for each of the ~450 call numbers when
//! it builds the filter's cache at install time (seccomp_cache_prepare, with interrupts off),
//! which was most of the seccomp(2) call's cost at every start. Only the calls denied for some
//! arguments go on into the chain, which decides on them: the fewer instructions the chain has,
//! the less the kernel checks, translates and compiles at install (about 0.3 µs each here).

use seccompiler::{sock_filter, BpfProgram};

pub(crate) const LD_W_ABS: u16 = 0x20;
pub(crate) const JEQ_K: u16 = 0x15;
pub(crate) const JGE_K: u16 = 0x35;
pub(crate) const JA: u16 = 0x05;
pub(crate) const RET_K: u16 = 0x06;

const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;

/// AUDIT_ARCH_* of the architecture hutch is built for (linux/audit.h).
pub const AUDIT_ARCH: u32 = if cfg!(target_arch = "aarch64") {
    0xc000_00b7
} else if cfg!(target_arch = "riscv64") {
    0xc000_00f3
} else {
    0xc000_003e
};

/// Leaves of the search compare this many numbers one after another.
const LEAF: usize = 4;

/// A jump target, resolved once the program is laid out.
#[derive(Clone, Copy)]
enum Label {
    Allow,
    Deny,
    Listed,
    At(usize),
}

/// What the search answers for a call number on the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listed {
    /// EPERM, whatever the arguments.
    Denied,
    /// The chain after the prefix decides, on the arguments.
    ByArguments,
}

enum Insn {
    Op(sock_filter),
    Jump(Label),
}

/// The prefix for a deny list of `listed` call numbers (sorted, without duplicates), to be
/// followed directly by the program that decides on the calls listed [`Listed::ByArguments`]
/// (none may be left out of it); the calls in `enosys` fail with ENOSYS.
/// Those few are compared one by one ahead of the search: the kernel's per-call cache answers
/// allowed calls without running the filter, so their length costs allowed calls nothing.
pub fn prefix(listed: &[(u32, Listed)], enosys: &[u32]) -> BpfProgram {
    let op = |code, jt, jf, k| Insn::Op(sock_filter { code, jt, jf, k });
    let mut code = vec![
        op(LD_W_ABS, 0, 0, OFFSET_ARCH),
        op(JEQ_K, 1, 0, AUDIT_ARCH),
        op(RET_K, 0, 0, RET_KILL_PROCESS),
        op(LD_W_ABS, 0, 0, OFFSET_NR),
    ];
    if cfg!(target_arch = "x86_64") {
        // x32 reuses x86_64's audit value with bit 30 set in the number: every rule below
        // could be bypassed through it.
        code.push(op(JGE_K, 0, 1, X32_SYSCALL_BIT));
        code.push(op(RET_K, 0, 0, RET_KILL_PROCESS));
    }
    // ENOSYS, so that libc falls back to clone, whose flags a classic BPF filter can read (and
    // programs to /proc/self/mountinfo for listmount and statmount).
    for &nr in enosys {
        code.push(op(JEQ_K, 0, 1, nr));
        code.push(op(RET_K, 0, 0, RET_ERRNO | libc::ENOSYS as u32));
    }
    search(listed, &mut code);
    // Conditional jumps above only ever skip one instruction; everything farther is a JA,
    // whose offset has 32 bits, so no list is too long to lay out.
    let allow = code.len();
    code.push(op(RET_K, 0, 0, RET_ALLOW));
    let deny = code.len();
    code.push(op(RET_K, 0, 0, RET_ERRNO | libc::EPERM as u32));
    let listed_at = code.len();
    let resolve = |label, from: usize| -> u32 {
        let to = match label {
            Label::Allow => allow,
            Label::Deny => deny,
            Label::Listed => listed_at,
            Label::At(to) => to,
        };
        (to - from - 1) as u32
    };
    code.iter()
        .enumerate()
        .map(|(at, insn)| match insn {
            Insn::Op(filter) => filter.clone(),
            Insn::Jump(label) => sock_filter {
                code: JA,
                jt: 0,
                jf: 0,
                k: resolve(*label, at),
            },
        })
        .collect()
}

/// Jump to `Deny` or `Listed` if the number in the accumulator is one of `listed`, else to
/// `Allow`.
fn search(listed: &[(u32, Listed)], code: &mut Vec<Insn>) {
    let op = |code, jt, jf, k| Insn::Op(sock_filter { code, jt, jf, k });
    if listed.len() <= LEAF {
        for &(nr, answer) in listed {
            code.push(op(JEQ_K, 0, 1, nr));
            code.push(Insn::Jump(match answer {
                Listed::Denied => Label::Deny,
                Listed::ByArguments => Label::Listed,
            }));
        }
        code.push(Insn::Jump(Label::Allow));
        return;
    }
    let (low, high) = listed.split_at(listed.len() / 2);
    code.push(op(JGE_K, 0, 1, high[0].0));
    let to_high = code.len();
    code.push(Insn::Jump(Label::Allow)); // patched below
    search(low, code);
    code[to_high] = Insn::Jump(Label::At(code.len()));
    search(high, code);
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// What the kernel would answer for call `nr` with `args` on architecture `arch`: a classic
    /// BPF interpreter for the instructions seccomp filters here use.
    pub fn run(program: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = [0u32; 16];
        data[0] = nr;
        data[1] = arch;
        for (i, arg) in args.iter().enumerate() {
            data[4 + 2 * i] = *arg as u32;
            data[5 + 2 * i] = (*arg >> 32) as u32;
        }
        let (mut acc, mut pc) = (0u32, 0usize);
        loop {
            let insn = &program[pc];
            pc += 1;
            let taken = |cond: bool| if cond { insn.jt } else { insn.jf } as usize;
            match insn.code {
                LD_W_ABS => acc = data[insn.k as usize / 4],
                JA => pc += insn.k as usize,
                JEQ_K => pc += taken(acc == insn.k),
                JGE_K => pc += taken(acc >= insn.k),
                0x25 => pc += taken(acc > insn.k),      // JGT K
                0x45 => pc += taken(acc & insn.k != 0), // JSET K
                0x54 => acc &= insn.k,                  // ALU AND K
                RET_K => return insn.k,
                other => panic!("instruction {other:#x} not interpreted"),
            }
        }
    }

    /// Every third listed call denied outright, the others left to the chain.
    fn list(numbers: impl Iterator<Item = u32>) -> Vec<(u32, Listed)> {
        numbers
            .enumerate()
            .map(|(i, nr)| {
                let answer = if i % 3 == 0 {
                    Listed::Denied
                } else {
                    Listed::ByArguments
                };
                (nr, answer)
            })
            .collect()
    }

    #[test]
    fn listed_calls_are_denied_or_go_on_and_others_are_allowed() {
        let listed = list((0..40).map(|i| i * 7 + 3));
        let mut program = prefix(&listed, &[435]);
        const GONE_ON: u32 = 0x1234;
        program.push(sock_filter {
            code: RET_K,
            jt: 0,
            jf: 0,
            k: GONE_ON,
        });
        for nr in 0..400 {
            let expect = if nr == 435 {
                RET_ERRNO | libc::ENOSYS as u32
            } else {
                match listed.iter().find(|(listed, _)| *listed == nr) {
                    Some((_, Listed::Denied)) => RET_ERRNO | libc::EPERM as u32,
                    Some((_, Listed::ByArguments)) => GONE_ON,
                    None => RET_ALLOW,
                }
            };
            assert_eq!(run(&program, AUDIT_ARCH, nr, [0; 6]), expect, "nr {nr}");
        }
        assert_eq!(
            run(&program, AUDIT_ARCH, 435, [0; 6]),
            RET_ERRNO | libc::ENOSYS as u32
        );
        assert_eq!(run(&program, 0x4000_0003, 3, [0; 6]), RET_KILL_PROCESS);
        if cfg!(target_arch = "x86_64") {
            assert_eq!(
                run(&program, AUDIT_ARCH, X32_SYSCALL_BIT | 1, [0; 6]),
                RET_KILL_PROCESS
            );
        }
    }

    #[test]
    fn a_long_list_lays_out() {
        let listed = list((0..2000).map(|i| i * 2));
        let mut program = prefix(&listed, &[5000]);
        program.push(sock_filter {
            code: RET_K,
            jt: 0,
            jf: 0,
            k: 0x1234,
        });
        // 3998 is the 2000th: index 1999, left to the chain; 0 is denied outright.
        assert_eq!(run(&program, AUDIT_ARCH, 3998, [0; 6]), 0x1234);
        assert_eq!(run(&program, AUDIT_ARCH, 3999, [0; 6]), RET_ALLOW);
        assert_eq!(
            run(&program, AUDIT_ARCH, 0, [0; 6]),
            RET_ERRNO | libc::EPERM as u32
        );
    }
}
