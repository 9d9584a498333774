//! hutch's entry point. A C `main` instead of Rust's: it skips std's runtime set-up (probing the
//! stack through /proc/self/maps, ignoring SIGPIPE), measured at about 5 % of `hutch run`'s
//! start-up. std still sees the arguments (glibc hands them to it at load time). SIGPIPE keeps
//! its default, as for any C tool: `hutch ls | head -1` ends quietly.
#![no_main]

use std::ffi::{c_char, c_int};
use std::io::Write;

#[no_mangle]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    let status = hutch::cli::main(std::env::args_os());
    // Rust's runtime would flush stdout at exit; without it, this does.
    let _ = std::io::stdout().flush();
    c_int::from(status)
}
