//! The raw input of an import, read ahead and hashed in a thread of its own.
//!
//! Hashing the input (sha256, or the algorithm a layer's digest names) costs about as much CPU time as writing its files, so it runs next
//! to the extraction instead of before each piece of it: a reader thread reads the input in large
//! chunks, hashes each, and hands it over through a short queue; the extracting thread decodes
//! and writes from those chunks. The queue is bounded (a few MiB are in flight at most), the
//! chunks are reused, and the input is read once. Large chunks also spare the extracting thread a
//! read(2) for every 512-byte tar header.
//!
//! If the thread cannot be started, the same work happens inline: slower, never different.
//! Use it only in the extracting process in the user namespace, which exits when the import ends
//! (see `crate::userns`, whose caller must stay single-threaded). There the thread is never
//! joined on an error: a thread blocked in read(2) on a pipe must not hold up the failure.

use std::io::{ErrorKind, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};

use super::digest::{Algorithm, Hasher};
use super::progress::Progress;

/// Bytes per chunk: large enough to make read(2) and channel hand-overs rare, small enough to
/// stay in a core's cache between hashing and decoding.
const CHUNK: usize = 512 * 1024;
/// Chunks that may wait in the queue.
const AHEAD: usize = 4;

enum Message {
    Data(Vec<u8>),
    /// End of input: `ALGORITHM:HEX` of everything read.
    End(String),
    Error(std::io::Error),
}

/// Reads, hashes and counts the input; [`Feed::digest`] says its digest once it is read to the end.
pub struct Feed {
    source: FeedSource,
    current: Vec<u8>,
    pos: usize,
    digest: Option<String>,
    failed: bool,
    progress: Progress,
}

enum FeedSource {
    Thread {
        chunks: Receiver<Message>,
        recycle: SyncSender<Vec<u8>>,
    },
    Inline(Reader),
}

/// What the reader thread owns: the input and the hash of what was read so far.
struct Reader {
    raw: Box<dyn Read + Send>,
    /// `None` once finished. Boxed: a sha512 state is large, and moves between threads.
    hasher: Option<Box<Hasher>>,
}

impl Reader {
    /// The next chunk, read into `buf` and hashed; `End` at the end of the input.
    fn next(&mut self, mut buf: Vec<u8>) -> Message {
        buf.resize(CHUNK, 0);
        loop {
            match self.raw.read(&mut buf) {
                Ok(0) => {
                    return match self.hasher.take() {
                        Some(hasher) => Message::End((*hasher).finish()),
                        None => Message::Error(std::io::Error::other("read past the end")),
                    };
                }
                Ok(n) => {
                    buf.truncate(n);
                    if let Some(hasher) = &mut self.hasher {
                        hasher.update(&buf);
                    }
                    return Message::Data(buf);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Message::Error(e),
            }
        }
    }

    fn run(mut self, chunks: SyncSender<Message>, recycle: Receiver<Vec<u8>>) {
        loop {
            let buf = match recycle.try_recv() {
                Ok(buf) => buf,
                Err(TryRecvError::Empty) => Vec::with_capacity(CHUNK),
                // The extracting side is gone: nobody wants the rest.
                Err(TryRecvError::Disconnected) => return,
            };
            let message = self.next(buf);
            let last = !matches!(message, Message::Data(_));
            if chunks.send(message).is_err() || last {
                return;
            }
        }
    }
}

impl Feed {
    /// Start reading `raw`, hashing it with `algorithm`; `progress` advances by the bytes
    /// handed over.
    pub fn start(
        raw: impl Read + Send + 'static,
        progress: &Progress,
        algorithm: Algorithm,
    ) -> Feed {
        Feed::with(raw, progress, algorithm, true)
    }

    fn with(
        raw: impl Read + Send + 'static,
        progress: &Progress,
        algorithm: Algorithm,
        threaded: bool,
    ) -> Feed {
        let reader = Reader {
            raw: Box::new(raw),
            hasher: Some(Box::new(algorithm.hasher())),
        };
        let source = if threaded {
            Feed::spawn(reader)
        } else {
            FeedSource::Inline(reader)
        };
        Feed {
            source,
            current: Vec::new(),
            pos: 0,
            digest: None,
            failed: false,
            progress: progress.clone(),
        }
    }

    /// Hand `reader` to a thread of its own; keep it if there can be none.
    fn spawn(reader: Reader) -> FeedSource {
        let (chunks_tx, chunks) = sync_channel(AHEAD);
        // Room for every chunk in flight, so that returning one never blocks.
        let (recycle, recycle_rx) = sync_channel(AHEAD + 2);
        // Handed over once the thread runs: a thread that cannot start gives nothing back.
        let (give, take) = sync_channel::<Reader>(1);
        let spawned = std::thread::Builder::new()
            .name("hutch-input".into())
            .spawn(move || {
                if let Ok(reader) = take.recv() {
                    reader.run(chunks_tx, recycle_rx);
                }
            });
        let why = match spawned {
            Ok(_) => match give.send(reader) {
                Ok(()) => return FeedSource::Thread { chunks, recycle },
                Err(std::sync::mpsc::SendError(back)) => {
                    return FeedSource::Inline(back);
                }
            },
            Err(e) => e,
        };
        tracing::debug!(error = %why, "no thread to read the input: reading it inline");
        FeedSource::Inline(reader)
    }

    /// `ALGORITHM:HEX` of the whole input, once it has been read to its end.
    pub fn digest(&self) -> Option<String> {
        self.digest.clone()
    }

    /// Make the next chunk current; false at the end of the input.
    fn refill(&mut self) -> std::io::Result<bool> {
        if self.digest.is_some() {
            return Ok(false);
        }
        if self.failed {
            return Err(std::io::Error::other("the input could not be read"));
        }
        let spent = std::mem::take(&mut self.current);
        self.pos = 0;
        let message = match &mut self.source {
            FeedSource::Thread { chunks, recycle } => {
                if spent.capacity() > 0 {
                    let _ = recycle.try_send(spent);
                }
                chunks.recv().unwrap_or_else(|_| {
                    Message::Error(std::io::Error::other("the input's reader thread ended"))
                })
            }
            FeedSource::Inline(reader) => reader.next(spent),
        };
        match message {
            Message::Data(buf) => {
                self.progress.advance(buf.len() as u64);
                self.current = buf;
                Ok(true)
            }
            Message::End(digest) => {
                self.digest = Some(digest);
                Ok(false)
            }
            Message::Error(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }
}

impl Read for Feed {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.pos == self.current.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::progress::Mode;

    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn sha(data: &[u8]) -> String {
        use sha2::Digest;
        format!("sha256:{:x}", sha2::Sha256::digest(data))
    }

    /// Reads in odd sizes, as the tar reader and the decoders do.
    fn drain(feed: &mut Feed) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; CHUNK + 100];
        for size in [1, 512, 7, 4096, CHUNK + 100, 100_000].into_iter().cycle() {
            let n = feed.read(&mut buf[..size])?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
        unreachable!("a cycle never ends")
    }

    #[test]
    fn passes_every_byte_and_hashes_them() {
        let progress = Progress::new(Mode::Quiet, None, "t");
        for threaded in [true, false] {
            for len in [0, 1, CHUNK - 1, CHUNK, 3 * CHUNK + 17, (AHEAD + 3) * CHUNK] {
                let data = bytes(len);
                let mut feed = Feed::with(
                    std::io::Cursor::new(data.clone()),
                    &progress,
                    Algorithm::Sha256,
                    threaded,
                );
                assert_eq!(feed.digest(), None);
                assert!(drain(&mut feed).unwrap() == data, "{len} {threaded}");
                assert_eq!(feed.digest(), Some(sha(&data)), "{len} {threaded}");
                // Past the end stays at the end.
                assert_eq!(feed.read(&mut [0u8; 10]).unwrap(), 0);
            }
        }
    }

    /// Fails after `good` bytes, once; a retry must not pretend the input went on.
    struct Broken {
        good: usize,
    }

    impl Read for Broken {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.good == 0 {
                self.good = usize::MAX;
                return Err(std::io::Error::other("bad sector"));
            }
            if self.good == usize::MAX {
                return Ok(0);
            }
            let n = buf.len().min(self.good);
            buf[..n].fill(1);
            self.good -= n;
            Ok(n)
        }
    }

    #[test]
    fn read_errors_reach_the_reader_and_stay() {
        let progress = Progress::new(Mode::Quiet, None, "t");
        for threaded in [true, false] {
            let mut feed = Feed::with(
                Broken { good: CHUNK + 5 },
                &progress,
                Algorithm::Sha256,
                threaded,
            );
            let err = drain(&mut feed).unwrap_err();
            assert_eq!(err.to_string(), "bad sector");
            assert!(feed.read(&mut [0u8; 10]).is_err(), "{threaded}");
            assert_eq!(feed.digest(), None);
        }
    }
}
