//! Progress of an import: a bar on a terminal (indicatif), a few plain lines otherwise, nothing
//! with `-q`. The bar is drawn by the extracting process as it takes in the input (see
//! `super::feed`), and never from a ticker thread of its own, which the importer's fork would not
//! carry into the extracting process (see `crate::userns`).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bar,
    Lines,
    Quiet,
}

impl Mode {
    pub fn detect(quiet: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }
}

#[derive(Clone)]
pub struct Progress {
    mode: Mode,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// `total`: bytes of input, when known; `label` starts the bar (the image's name).
    pub fn new(mode: Mode, total: Option<u64>, label: &str) -> Progress {
        let bar = (mode == Mode::Bar).then(|| {
            let (bar, template) = match total {
                Some(total) => (
                    ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                ),
                None => (
                    ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
                    "{msg} {spinner} {bytes} {bytes_per_sec}",
                ),
            };
            bar.set_style(
                ProgressStyle::with_template(template)
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_message(label.to_owned());
            bar
        });
        Progress { mode, bar }
    }

    /// Bytes of input consumed.
    pub fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    /// A step worth a line: the bar's message on a terminal, a line on stderr otherwise.
    pub fn step(&self, text: &str) {
        match self.mode {
            Mode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.set_message(text.to_owned());
                }
            }
            Mode::Lines => crate::output::note!("hutch: {text}"),
            Mode::Quiet => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
