//! Where a profile value came from, and errors that point at it like rustc does:
//! `file:line:col`, the line, and a caret under the offending text.

use std::fmt::Write;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// One profile's text and where it was read from.
#[derive(Debug)]
pub struct Source {
    pub name: String,
    /// The file, or `None` for a built-in.
    pub path: Option<PathBuf>,
    pub text: String,
}

impl Source {
    pub fn describe(&self) -> String {
        match &self.path {
            Some(path) => path.display().to_string(),
            None => format!("<built-in profile {}>", self.name),
        }
    }
}

/// A span in a profile's text.
#[derive(Debug, Clone)]
pub struct At {
    pub source: Arc<Source>,
    pub span: Range<usize>,
}

impl PartialEq for At {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.source, &other.source) && self.span == other.span
    }
}

impl Eq for At {}

impl At {
    pub fn new(source: &Arc<Source>, span: Range<usize>) -> At {
        At {
            source: Arc::clone(source),
            span,
        }
    }

    /// 1-based line and column of the span's start.
    pub fn line_col(&self) -> (usize, usize) {
        let start = self.span.start.min(self.source.text.len());
        let before = &self.source.text[..start];
        let line = before.matches('\n').count() + 1;
        let col = before.rfind('\n').map_or(start, |nl| start - nl - 1) + 1;
        (line, col)
    }

    /// `message`, then ` --> file:line:col`, the line and a caret, as rustc prints errors.
    pub fn render(&self, message: &str) -> String {
        render(&self.source, self.span.clone(), message)
    }
}

pub fn render(source: &Source, span: Range<usize>, message: &str) -> String {
    let text = &source.text;
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line_text = &text[line_start..line_end];
    let line = text[..start].matches('\n').count() + 1;
    let col = text[line_start..start].chars().count() + 1;
    let width = text[start..span.end.clamp(start, line_end)]
        .chars()
        .count()
        .max(1);
    let gutter = line.to_string().len();
    let mut out = String::new();
    let _ = writeln!(out, "{message}");
    let _ = writeln!(out, "{:gutter$}--> {}:{line}:{col}", "", source.describe());
    let _ = writeln!(out, "{:gutter$} |", "");
    let _ = writeln!(out, "{line} | {line_text}");
    let _ = write!(
        out,
        "{:gutter$} | {}{}",
        "",
        " ".repeat(col - 1),
        "^".repeat(width)
    );
    out
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbours each cost one (`hostnme` is one from `hostname`, `HOEM` one from `HOME`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_col_and_caret() {
        let source = Source {
            name: "x".into(),
            path: Some("/p/x.toml".into()),
            text: "a = 1\ndst = \"rel\"\n".into(),
        };
        let out = render(&source, 12..17, "bad destination");
        assert_eq!(
            out,
            "bad destination\n --> /p/x.toml:2:7\n  |\n2 | dst = \"rel\"\n  |       ^^^^^"
        );
    }

    #[test]
    fn suggests_close_names_only() {
        let keys = ["hostname", "description", "mount"];
        assert_eq!(did_you_mean("hostnme", keys), Some("hostname"));
        assert_eq!(did_you_mean("mounts", keys), Some("mount"));
        assert_eq!(did_you_mean("zzz", keys), None);
        assert_eq!(did_you_mean("HOEM", ["HOME", "CWD"]), Some("HOME"));
    }
}
