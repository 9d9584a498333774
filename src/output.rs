//! hutch's own output: every write to stdout reports its error, and nothing written to stderr
//! can panic.
//!
//! `print!` and `eprintln!` panic when the write fails (stdout on a full disk, a closed pipe,
//! stderr redirected to /dev/full), and a panic is not an answer. The commands build their
//! output and the CLI writes it with [`stdout`], passing any error up with `?`; a closed reader
//! (`hutch ls | head -1`) then ends the command quietly with status 0, as ripgrep does, and any
//! other error is reported as `hutch: cannot write output: ...` with status 125. For that the
//! launcher ignores SIGPIPE ([`crate::sys::ignore_broken_pipe_signal`]), so that a write to a
//! closed pipe fails with EPIPE instead of killing hutch; what it execs gets the default back.

use std::fmt;
use std::io::{self, Write};

/// Write `bytes` to stdout and flush them, so that an error shows here and not in a flush at
/// exit, where nobody could report it.
pub fn stdout(bytes: impl AsRef<[u8]>) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes.as_ref())?;
    out.flush()
}

/// Whether a write failed only because its reader went away (EPIPE): the end of a pipeline
/// such as `| head -1`, where hutch stops quietly.
pub fn reader_gone(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::BrokenPipe
}

/// A line on stderr (a warning, an error, a note of progress). A failed write is ignored:
/// stderr is the channel a failure would be reported on.
pub fn stderr_line(line: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(line).and_then(|()| err.write_all(b"\n"));
}

/// Text on stderr without a newline (terminal control, such as clearing a progress bar);
/// a failed write is ignored, as in [`stderr_line`].
pub fn stderr_text(text: &str) {
    let _ = io::stderr().lock().write_all(text.as_bytes());
}

/// Where `-v` logs go: stderr, with a failed write dropped. (tracing-subscriber reports a failed
/// write with `eprintln!`, which panics when the failed write was to stderr.)
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// [`stderr_line`], with `format!`-style arguments.
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::output::stderr_line(format_args!($($arg)*))
    };
}
pub(crate) use note;
