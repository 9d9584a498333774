//! The name a connection is for, read from its first bytes: the server_name of a TLS
//! ClientHello (RFC 8446 §4.1.2, RFC 6066 §3), or the target of an HTTP/1 request (CONNECT
//! authority, absolute URI, or Host header; RFC 9112 §3.2).
//!
//! Both parsers take bytes a program inside the sandbox chose, so they read by bounds-checked
//! slices only and answer "need more bytes" until the message is whole. They never guess: a
//! hello without a server name, or a request without a host, names nothing and is refused.

/// What the first bytes of a connection say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniffed<T> {
    /// The message is not complete yet: read more (up to the caller's limit).
    NeedMore,
    /// The message is complete.
    Done(T),
    /// Not this protocol, or malformed.
    Invalid(&'static str),
}

/// The largest ClientHello hutch reads: the handshake's 24-bit length allows 16 MiB, real
/// hellos are under 2 KiB (a post-quantum key share included).
pub const MAX_HELLO: usize = 16 * 1024;
/// The largest HTTP request head hutch reads.
pub const MAX_HEAD: usize = 16 * 1024;

const CONTENT_HANDSHAKE: u8 = 22;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const EXTENSION_SERVER_NAME: u16 = 0;
const NAME_TYPE_HOST: u8 = 0;

/// A cursor over untrusted bytes: every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    fn u24(&mut self) -> Option<usize> {
        self.take(3)
            .map(|b| (b[0] as usize) << 16 | (b[1] as usize) << 8 | b[2] as usize)
    }

    /// A vector with a length prefix of `width` bytes.
    fn vector(&mut self, width: usize) -> Option<&'a [u8]> {
        let len = match width {
            1 => self.u8()? as usize,
            2 => self.u16()? as usize,
            _ => self.u24()?,
        };
        self.take(len)
    }
}

/// The server_name of the ClientHello at the start of `stream` (TLS records as sent), or
/// `Done(None)` for a hello without one. The handshake message may span records.
pub fn client_hello_server_name(stream: &[u8]) -> Sniffed<Option<String>> {
    // Reassemble the handshake layer from as many records as have arrived.
    let mut handshake = Vec::new();
    let mut records = Reader { bytes: stream };
    while let Some(header) = records.take(5) {
        if header[0] != CONTENT_HANDSHAKE {
            return Sniffed::Invalid("not a TLS handshake");
        }
        if header[1] != 3 {
            return Sniffed::Invalid("not a TLS record version");
        }
        let len = u16::from_be_bytes([header[3], header[4]]) as usize;
        if len == 0 || len > 16384 + 2048 {
            return Sniffed::Invalid("bad TLS record length");
        }
        match records.take(len) {
            Some(fragment) => handshake.extend_from_slice(fragment),
            None => {
                handshake.extend_from_slice(records.bytes);
                break;
            }
        }
        if handshake_len(&handshake).is_some_and(|n| handshake.len() >= n) {
            break;
        }
    }
    let Some(total) = handshake_len(&handshake) else {
        return if stream.len() >= MAX_HELLO {
            Sniffed::Invalid("ClientHello too large")
        } else {
            Sniffed::NeedMore
        };
    };
    if handshake[0] != HANDSHAKE_CLIENT_HELLO {
        return Sniffed::Invalid("not a ClientHello");
    }
    if total > MAX_HELLO {
        return Sniffed::Invalid("ClientHello too large");
    }
    if handshake.len() < total {
        return Sniffed::NeedMore;
    }
    match hello_server_name(&handshake[4..total]) {
        Some(name) => Sniffed::Done(name),
        None => Sniffed::Invalid("malformed ClientHello"),
    }
}

/// The whole handshake message's length (header included), once its header is there.
fn handshake_len(handshake: &[u8]) -> Option<usize> {
    let mut r = Reader { bytes: handshake };
    r.u8()?;
    Some(4 + r.u24()?)
}

/// The server_name in a ClientHello body; `Some(None)`: well-formed, without one.
fn hello_server_name(body: &[u8]) -> Option<Option<String>> {
    let mut r = Reader { bytes: body };
    r.take(2)?; // legacy_version
    r.take(32)?; // random
    r.vector(1)?; // legacy_session_id
    r.vector(2)?; // cipher_suites
    r.vector(1)?; // legacy_compression_methods
    if r.bytes.is_empty() {
        return Some(None); // no extensions at all (SSL 3.0 style)
    }
    let mut extensions = Reader {
        bytes: r.vector(2)?,
    };
    while !extensions.bytes.is_empty() {
        let kind = extensions.u16()?;
        let data = extensions.vector(2)?;
        if kind != EXTENSION_SERVER_NAME {
            continue;
        }
        let mut list = Reader {
            bytes: Reader { bytes: data }.vector(2)?,
        };
        while !list.bytes.is_empty() {
            let name_type = list.u8()?;
            let name = list.vector(2)?;
            if name_type == NAME_TYPE_HOST {
                let name = std::str::from_utf8(name).ok()?;
                return Some(Some(super::allow::normalize(name)?));
            }
        }
        return Some(None);
    }
    Some(None)
}

/// Where an HTTP/1 request wants to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTarget {
    /// Normalised host name.
    pub name: String,
    /// The port: CONNECT's or the URI's; `None` when only the Host header named the host (the
    /// port is then the one the client connected to).
    pub port: Option<u16>,
    /// `CONNECT`: a tunnel is asked for; the head is not forwarded.
    pub connect: bool,
    /// The length of the request head, the blank line included.
    pub head_len: usize,
}

/// The target of the HTTP/1 request head at the start of `stream`.
pub fn http_target(stream: &[u8]) -> Sniffed<HttpTarget> {
    let Some(end) = find(stream, b"\r\n\r\n") else {
        return if stream.len() >= MAX_HEAD {
            Sniffed::Invalid("request head too large")
        } else if stream.len() >= 8
            && !stream[..8]
                .iter()
                .all(|b| b.is_ascii_graphic() || *b == b' ' || *b == b'\r' || *b == b'\n')
        {
            Sniffed::Invalid("not HTTP")
        } else {
            Sniffed::NeedMore
        };
    };
    let head_len = end + 4;
    let Ok(head) = std::str::from_utf8(&stream[..end]) else {
        return Sniffed::Invalid("request head is not text");
    };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut words = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Sniffed::Invalid("bad request line");
    };
    if !version.starts_with("HTTP/1.") {
        return Sniffed::Invalid("not HTTP/1");
    }
    if method == "CONNECT" {
        return match authority(target) {
            Some((name, Some(port))) => Sniffed::Done(HttpTarget {
                name,
                port: Some(port),
                connect: true,
                head_len,
            }),
            _ => Sniffed::Invalid("CONNECT needs host:port"),
        };
    }
    if let Some(rest) = target.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        return match authority(host) {
            Some((name, port)) => Sniffed::Done(HttpTarget {
                name,
                port: Some(port.unwrap_or(80)),
                connect: false,
                head_len,
            }),
            None => Sniffed::Invalid("bad URI host"),
        };
    }
    if !target.starts_with('/') && target != "*" {
        return Sniffed::Invalid("unsupported request target");
    }
    let mut hosts = lines.filter_map(|line| {
        let (field, value) = line.split_once(':')?;
        field
            .eq_ignore_ascii_case("host")
            .then(|| value.trim_matches([' ', '\t']))
    });
    match (hosts.next(), hosts.next()) {
        (Some(host), None) => match authority(host) {
            Some((name, _)) => Sniffed::Done(HttpTarget {
                name,
                port: None,
                connect: false,
                head_len,
            }),
            None => Sniffed::Invalid("bad Host header"),
        },
        (None, _) => Sniffed::Invalid("no Host header"),
        (Some(_), Some(_)) => Sniffed::Invalid("more than one Host header"),
    }
}

/// What a tunnel (after CONNECT) or a connection to port 80 or 443 carries first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inner {
    /// A TLS ClientHello and its server_name.
    Tls(Option<String>),
    /// An HTTP/1 request.
    Http(HttpTarget),
}

/// The first message in `stream`, TLS or HTTP: a TLS record starts with the handshake
/// content type (22), which no HTTP method does.
pub fn tls_or_http(stream: &[u8]) -> Sniffed<Inner> {
    match stream.first() {
        None => Sniffed::NeedMore,
        Some(&CONTENT_HANDSHAKE) => match client_hello_server_name(stream) {
            Sniffed::Done(name) => Sniffed::Done(Inner::Tls(name)),
            Sniffed::NeedMore => Sniffed::NeedMore,
            Sniffed::Invalid(why) => Sniffed::Invalid(why),
        },
        Some(_) => match http_target(stream) {
            Sniffed::Done(target) => Sniffed::Done(Inner::Http(target)),
            Sniffed::NeedMore => Sniffed::NeedMore,
            Sniffed::Invalid(why) => Sniffed::Invalid(why),
        },
    }
}

/// The request head `head` (its blank line included) with `Connection: close` instead of its
/// own connection options, so that the server answers this one request and closes: a second
/// request on the same connection could name another host, and nobody would read it.
pub fn with_connection_close(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let body = text.strip_suffix("\r\n\r\n").unwrap_or(&text);
    let mut out = String::with_capacity(head.len() + 20);
    for (i, line) in body.split("\r\n").enumerate() {
        let field = line.split(':').next().unwrap_or_default().trim();
        let hop = ["connection", "proxy-connection", "keep-alive"]
            .iter()
            .any(|h| field.eq_ignore_ascii_case(h));
        if i > 0 && hop {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

/// `host[:port]` as a normalised name and port; userinfo and IP literals are refused.
fn authority(text: &str) -> Option<(String, Option<u16>)> {
    if text.contains('@') || text.starts_with('[') {
        return None;
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, Some(port.parse::<u16>().ok().filter(|p| *p > 0)?)),
        None => (text, None),
    };
    Some((super::allow::normalize(host)?, port))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A ClientHello as one record, with `name` as server_name when given.
    pub(crate) fn client_hello(name: Option<&str>) -> Vec<u8> {
        let mut extensions = Vec::new();
        // An unrelated extension first (supported_versions), as real clients send.
        extensions.extend_from_slice(&[0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04]);
        if let Some(name) = name {
            let n = name.len() as u16;
            extensions.extend_from_slice(&0u16.to_be_bytes());
            extensions.extend_from_slice(&(n + 5).to_be_bytes());
            extensions.extend_from_slice(&(n + 3).to_be_bytes());
            extensions.push(0);
            extensions.extend_from_slice(&n.to_be_bytes());
            extensions.extend_from_slice(name.as_bytes());
        }
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7; 32]);
        body.extend_from_slice(&[0]); // session id
        body.extend_from_slice(&[0, 2, 0x13, 0x01]); // one cipher suite
        body.extend_from_slice(&[1, 0]); // null compression
        body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
        body.extend_from_slice(&extensions);
        let mut handshake = vec![1];
        handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        handshake.extend_from_slice(&body);
        let mut record = vec![22, 3, 1];
        record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
        record.extend_from_slice(&handshake);
        record
    }

    #[test]
    fn reads_the_server_name() {
        let hello = client_hello(Some("A.Test"));
        assert_eq!(
            client_hello_server_name(&hello),
            Sniffed::Done(Some("a.test".into()))
        );
        assert_eq!(
            client_hello_server_name(&client_hello(None)),
            Sniffed::Done(None)
        );
    }

    #[test]
    fn waits_for_the_whole_hello_even_across_records() {
        let hello = client_hello(Some("a.test"));
        for cut in 0..hello.len() {
            assert_eq!(
                client_hello_server_name(&hello[..cut]),
                Sniffed::NeedMore,
                "{cut}"
            );
        }
        // The same handshake split into two records.
        let handshake = &hello[5..];
        let (one, two) = handshake.split_at(20);
        let mut split = Vec::new();
        for part in [one, two] {
            split.extend_from_slice(&[22, 3, 3]);
            split.extend_from_slice(&(part.len() as u16).to_be_bytes());
            split.extend_from_slice(part);
        }
        assert_eq!(
            client_hello_server_name(&split),
            Sniffed::Done(Some("a.test".into()))
        );
    }

    #[test]
    fn refuses_what_is_not_a_hello() {
        assert!(matches!(
            client_hello_server_name(b"GET / HTTP/1.1\r\n"),
            Sniffed::Invalid(_)
        ));
        let mut hello = client_hello(Some("a.test"));
        hello[5] = 2; // ServerHello
        assert!(matches!(
            client_hello_server_name(&hello),
            Sniffed::Invalid(_)
        ));
        // A name that is no host name.
        let bad = client_hello(Some("a b"));
        assert!(matches!(
            client_hello_server_name(&bad),
            Sniffed::Invalid(_)
        ));
        // A server_name extension longer than its container.
        let mut lying = client_hello(Some("a.test"));
        let at = lying.len() - "a.test".len() - 2;
        lying[at + 1] = 200;
        assert!(matches!(
            client_hello_server_name(&lying),
            Sniffed::Invalid(_)
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = client_hello_server_name(&bytes);
            let _ = http_target(&bytes);
        }

        #[test]
        fn never_panics_on_a_mutated_hello(
            flips in proptest::collection::vec((0usize..200, any::<u8>()), 1..6),
            cut in 0usize..220,
        ) {
            let mut hello = client_hello(Some("mirror.example.org"));
            for (at, value) in flips {
                let at = at % hello.len();
                hello[at] = value;
            }
            let cut = cut.min(hello.len());
            let _ = client_hello_server_name(&hello[..cut]);
        }
    }

    #[test]
    fn http_names_from_host_uri_and_connect() {
        let get = b"GET /x HTTP/1.1\r\nHost: A.test:8080\r\nAccept: */*\r\n\r\nbody";
        assert_eq!(
            http_target(get),
            Sniffed::Done(HttpTarget {
                name: "a.test".into(),
                port: None,
                connect: false,
                head_len: get.len() - 4
            })
        );
        let proxied = b"GET http://b.test:8080/path?q HTTP/1.1\r\nHost: b.test\r\n\r\n";
        assert!(matches!(
            http_target(proxied),
            Sniffed::Done(HttpTarget { ref name, port: Some(8080), connect: false, .. }) if name == "b.test"
        ));
        let connect = b"CONNECT c.test:443 HTTP/1.1\r\nHost: c.test:443\r\n\r\n";
        assert!(matches!(
            http_target(connect),
            Sniffed::Done(HttpTarget { ref name, port: Some(443), connect: true, .. }) if name == "c.test"
        ));
        assert_eq!(http_target(b"GET / HTTP/1.1\r\nHo"), Sniffed::NeedMore);
    }

    #[test]
    fn tunnels_are_told_apart_and_heads_closed() {
        let hello = client_hello(Some("b.test"));
        assert_eq!(
            tls_or_http(&hello),
            Sniffed::Done(Inner::Tls(Some("b.test".into())))
        );
        assert_eq!(tls_or_http(b""), Sniffed::NeedMore);
        assert!(matches!(
            tls_or_http(b"GET / HTTP/1.1\r\nHost: c.test\r\n\r\n"),
            Sniffed::Done(Inner::Http(HttpTarget { ref name, .. })) if name == "c.test"
        ));
        let head = b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive\r\n\
                     Keep-Alive: timeout=5\r\nAccept: */*\r\n\r\n";
        assert_eq!(
            String::from_utf8(with_connection_close(head)).unwrap(),
            "GET / HTTP/1.1\r\nHost: a.test\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn http_without_one_clear_name_is_refused() {
        for head in [
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: 10.0.0.1:x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: user@a.test\r\n\r\n",
            b"CONNECT a.test HTTP/1.1\r\n\r\n",
            b"CONNECT [::1]:443 HTTP/1.1\r\n\r\n",
            b"GET https://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n",
            b"GET / HTTP/2.0\r\nHost: a.test\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        ] {
            assert!(
                matches!(http_target(head), Sniffed::Invalid(_)),
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
    }
}
