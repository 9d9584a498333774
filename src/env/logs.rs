//! Showing a console log on a terminal without letting its bytes drive the terminal.
//!
//! An environment's console log holds whatever its processes printed. Copied raw to a
//! terminal, escape sequences in it could retitle the window, rewrite what is on screen, set
//! the clipboard (OSC 52) or, on some terminals, answer back into the input. [`terminal_safe`]
//! shows every control character but newline and tab as a visible escape (`\x1b`, `\u{9b}`),
//! and bytes that are not UTF-8 as `\xHH`. It is used only when standard output is a terminal;
//! into a file or a pipe the log goes byte for byte.

use std::fmt::Write as _;

/// `input` with control characters (but `\n` and `\t`) and invalid UTF-8 made visible, and
/// how many bytes of `input` that covers: all of it, except an incomplete UTF-8 sequence at
/// the end when more may follow (`at_end` false), which the caller passes again with the rest.
pub fn terminal_safe(input: &[u8], at_end: bool) -> (Vec<u8>, usize) {
    let mut out = String::with_capacity(input.len());
    let mut consumed = 0;
    for chunk in input.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' | '\t' => out.push(c),
                c if c.is_control() && (c as u32) < 0x80 => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if c.is_control() => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        consumed += chunk.valid().len();
        let invalid = chunk.invalid();
        let incomplete = consumed + invalid.len() == input.len()
            && std::str::from_utf8(invalid).is_err_and(|e| e.error_len().is_none());
        if incomplete && !at_end {
            break;
        }
        for byte in invalid {
            let _ = write!(out, "\\x{byte:02x}");
        }
        consumed += invalid.len();
    }
    (out.into_bytes(), consumed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(input: &[u8]) -> String {
        let (out, consumed) = terminal_safe(input, true);
        assert_eq!(consumed, input.len());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_newlines_and_tabs_pass() {
        assert_eq!(
            shown(b"booting\n\tok: caf\xc3\xa9\n"),
            "booting\n\tok: café\n"
        );
    }

    #[test]
    fn escape_sequences_are_made_visible() {
        assert_eq!(
            shown(b"\x1b]0;pwned\x07\x1b[2J\rfake prompt$ \x7f"),
            "\\x1b]0;pwned\\x07\\x1b[2J\\x0dfake prompt$ \\x7f"
        );
        // C1 controls: CSI as one UTF-8 character, and as a lone byte.
        assert_eq!(shown("\u{9b}31m".as_bytes()), "\\u{9b}31m");
        assert_eq!(shown(b"\x9b31m\xff"), "\\x9b31m\\xff");
    }

    #[test]
    fn a_character_split_between_reads_is_kept_for_the_next() {
        let text = "é".as_bytes();
        let (out, consumed) = terminal_safe(&[b'a', text[0]], false);
        assert_eq!((out, consumed), (b"a".to_vec(), 1));
        let (out, consumed) = terminal_safe(text, false);
        assert_eq!((String::from_utf8(out).unwrap(), consumed), ("é".into(), 2));
        // At the end of the log, an incomplete sequence is shown as bytes.
        assert_eq!(shown(&[b'a', text[0]]), "a\\xc3");
        // An invalid byte before the end is not held back.
        let (_, consumed) = terminal_safe(b"\xffa", false);
        assert_eq!(consumed, 2);
    }
}
