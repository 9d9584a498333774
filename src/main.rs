//! hutch's entry point. A C `main` instead of Rust's: it skips std's runtime set-up (probing the
//! stack through /proc/self/maps), measured at about 5 % of `hutch run`'s start-up. std still
//! sees the arguments (glibc hands them to it at load time). Of that set-up hutch keeps one
//! step: SIGPIPE is ignored, so that `hutch ls | head -1` ends on EPIPE with status 0 (see
//! `hutch::output`); what hutch execs gets the default disposition back.
#![no_main]

use std::ffi::{c_char, c_int};
use std::io::Write;

#[no_mangle]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    hutch::sys::ignore_broken_pipe_signal();
    let status = hutch::cli::main(std::env::args_os());
    // Rust's runtime would flush stdout at exit; without it, this does. hutch's own output is
    // flushed (and its errors reported) where it is written; this only catches leftovers.
    let _ = std::io::stdout().flush();
    c_int::from(status)
}
