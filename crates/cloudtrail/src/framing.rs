//! Splits a stream of JSON text into the elements that may be CloudTrail records, with bounded
//! memory.
//!
//! Shapes understood (see `docs/schema.md`):
//! - `{"Records":[…]}` (S3 delivery) and `{"Events":[…]}` (LookupEvents output) when that array
//!   is the object's first member: the array is streamed element by element, so a 2 GB file needs
//!   only one element in memory;
//! - a top-level array `[…]` (streamed the same way);
//! - a sequence of top-level values (NDJSON, or one pretty-printed object).
//!
//! The splitter only finds element boundaries (strings, escapes, nesting); it does not validate
//! an element's contents: that is serde's job, per element, so one bad record never hides the
//! rest of its file.

use std::io::Read;

use memchr::memchr2;

use crate::decode::Decoder;
use crate::error::ReadError;

/// Caps that keep memory bounded whatever the input.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum decompressed size of one object.
    pub max_object_bytes: u64,
    /// Maximum size of one element (record); CloudTrail's own limit is 256 KiB per event.
    pub max_element_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_object_bytes: 16 << 30,
            max_element_bytes: 64 << 20,
        }
    }
}

/// Where an element was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// A value at the top level of the file (NDJSON line, single object).
    TopLevel,
    /// An element of a top-level array.
    Array,
    /// An element of `{"Records":[…]}`.
    Records,
    /// An element of `{"Events":[…]}`.
    Events,
}

/// One JSON value, borrowed from the reader's buffer until the next call.
#[derive(Debug)]
pub struct Element<'a> {
    pub bytes: &'a [u8],
    /// Decompressed byte offset of the element's first byte.
    pub offset: u64,
    pub container: Container,
    /// Position of the element within its container (0-based).
    pub index: u64,
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    TopLevel {
        index: u64,
    },
    InArray {
        container: Container,
        index: u64,
        wrapper: bool,
    },
    AfterWrapper,
}

/// Reusable memory of an [`ElementReader`]: keep one per thread and pass it from object to
/// object.
#[derive(Debug, Default)]
pub struct Buffers {
    text: Vec<u8>,
    input: Vec<u8>,
}

/// Resumable state of the scan of one value, so a large element is scanned once, not once per
/// refill.
#[derive(Debug, Default, Clone, Copy)]
struct Scan {
    pos: usize,
    depth: u32,
    in_string: bool,
    started: bool,
}

const READ_CHUNK: usize = 1 << 20;

pub struct ElementReader<R> {
    src: Decoder<R>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Decompressed offset of `buf[0]`.
    base: u64,
    eof: bool,
    mode: Mode,
    limits: Limits,
    seen_any: bool,
}

impl<R: Read> ElementReader<R> {
    pub fn new(reader: R, limits: Limits) -> Self {
        Self::with_buffers(reader, limits, Buffers::default())
    }

    /// Like [`ElementReader::new`], reusing buffers of an earlier reader.
    pub fn with_buffers(reader: R, limits: Limits, buffers: Buffers) -> Self {
        let Buffers { mut text, input } = buffers;
        if text.len() < READ_CHUNK {
            text.resize(READ_CHUNK, 0);
        }
        Self {
            src: Decoder::with_buffer(reader, limits.max_object_bytes, input),
            buf: text,
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            mode: Mode::TopLevel { index: 0 },
            limits,
            seen_any: false,
        }
    }

    /// Gives the buffers back for the next object. An unusually large one (a huge record) is
    /// dropped rather than kept.
    pub fn into_buffers(self) -> Buffers {
        let mut text = self.buf;
        if text.len() > 4 * READ_CHUNK {
            text = Vec::new();
        }
        Buffers {
            text,
            input: self.src.into_buffer(),
        }
    }

    /// Decompressed bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.src.produced()
    }

    fn offset(&self, at: usize) -> u64 {
        self.base + at as u64
    }

    /// Reads more data; returns false at end of input. Keeps `buf[self.start..]`.
    fn refill(&mut self) -> Result<bool, ReadError> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let pending = self.end;
            if pending > self.limits.max_element_bytes {
                return Err(ReadError::ElementTooLarge {
                    offset: self.base,
                    limit: self.limits.max_element_bytes,
                });
            }
            let grown = (self.buf.len() * 2).min(self.limits.max_element_bytes + READ_CHUNK);
            self.buf.resize(grown.max(self.buf.len() + READ_CHUNK), 0);
        }
        let n = self.src.read_into(&mut self.buf[self.end..])?;
        if n == 0 {
            self.eof = true;
            return Ok(false);
        }
        self.end += n;
        Ok(true)
    }

    /// Skips whitespace; returns the next byte without consuming it, or None at end of input.
    fn peek_non_ws(&mut self) -> Result<Option<u8>, ReadError> {
        loop {
            while self.start < self.end {
                let b = self.buf[self.start];
                if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                    return Ok(Some(b));
                }
                self.start += 1;
            }
            if !self.refill()? {
                return Ok(None);
            }
        }
    }

    /// Ensures at least `n` bytes are buffered after `start` (fewer only at end of input).
    fn ensure(&mut self, n: usize) -> Result<(), ReadError> {
        while self.end - self.start < n {
            if !self.refill()? {
                break;
            }
        }
        Ok(())
    }

    fn syntax(&self, at: usize, message: &str) -> ReadError {
        ReadError::Syntax {
            offset: self.offset(at),
            message: message.to_string(),
        }
    }

    /// Returns the next element, `Ok(None)` at a clean end of input.
    pub fn next_element(&mut self) -> Result<Option<Element<'_>>, ReadError> {
        loop {
            match self.mode {
                Mode::TopLevel { index } => {
                    let Some(b) = self.peek_non_ws()? else {
                        return if self.seen_any { Ok(None) } else { Err(ReadError::Empty) };
                    };
                    self.seen_any = true;
                    if b == b'[' {
                        self.start += 1;
                        self.mode = Mode::InArray {
                            container: Container::Array,
                            index: 0,
                            wrapper: false,
                        };
                        continue;
                    }
                    if b == b'{'
                        && let Some(container) = self.wrapper_array()?
                    {
                        self.mode = Mode::InArray {
                            container,
                            index: 0,
                            wrapper: true,
                        };
                        continue;
                    }
                    self.mode = Mode::TopLevel { index: index + 1 };
                    let (s, e) = self.scan_value()?;
                    return Ok(Some(self.element(s, e, Container::TopLevel, index)));
                }
                Mode::InArray {
                    container,
                    index,
                    wrapper,
                } => {
                    let Some(b) = self.peek_non_ws()? else {
                        return Err(ReadError::UnexpectedEof {
                            offset: self.offset(self.start),
                        });
                    };
                    if b == b']' {
                        self.start += 1;
                        self.mode = if wrapper {
                            Mode::AfterWrapper
                        } else {
                            Mode::TopLevel { index: 1 }
                        };
                        continue;
                    }
                    if index > 0 {
                        if b != b',' {
                            return Err(self.syntax(self.start, "expected ',' or ']' between array elements"));
                        }
                        self.start += 1;
                        let next = self.peek_non_ws()?;
                        let next = next.ok_or(ReadError::UnexpectedEof {
                            offset: self.offset(self.start),
                        })?;
                        if next == b']' {
                            return Err(self.syntax(self.start, "trailing ',' before ']'"));
                        }
                    }
                    self.mode = Mode::InArray {
                        container,
                        index: index + 1,
                        wrapper,
                    };
                    let (s, e) = self.scan_value()?;
                    return Ok(Some(self.element(s, e, container, index)));
                }
                Mode::AfterWrapper => {
                    let Some(b) = self.peek_non_ws()? else {
                        return Err(ReadError::UnexpectedEof {
                            offset: self.offset(self.start),
                        });
                    };
                    match b {
                        b'}' => {
                            self.start += 1;
                            self.mode = Mode::TopLevel { index: 1 };
                        }
                        b',' => {
                            // Members after the array (e.g. LookupEvents' "NextToken"): skipped.
                            self.start += 1;
                            self.peek_non_ws()?;
                            self.scan_value()?;
                            if self.peek_non_ws()? != Some(b':') {
                                return Err(self.syntax(self.start, "expected ':' after an object key"));
                            }
                            self.start += 1;
                            self.peek_non_ws()?;
                            self.scan_value()?;
                        }
                        _ => return Err(self.syntax(self.start, "expected ',' or '}' after the records array")),
                    }
                }
            }
        }
    }

    fn element(&self, s: usize, e: usize, container: Container, index: u64) -> Element<'_> {
        Element {
            bytes: &self.buf[s..e],
            offset: self.offset(s),
            container,
            index,
        }
    }

    /// At a `{`: if its first member is `"Records": [` or `"Events": [`, consumes through the `[`.
    fn wrapper_array(&mut self) -> Result<Option<Container>, ReadError> {
        self.ensure(64)?;
        let window = &self.buf[self.start..self.end];
        let mut i = 1;
        let skip_ws = |i: &mut usize| {
            while *i < window.len() && matches!(window[*i], b' ' | b'\n' | b'\r' | b'\t') {
                *i += 1;
            }
        };
        skip_ws(&mut i);
        let rest = &window[i..];
        let (container, key_len) = if rest.starts_with(b"\"Records\"") {
            (Container::Records, 9)
        } else if rest.starts_with(b"\"Events\"") {
            (Container::Events, 8)
        } else {
            return Ok(None);
        };
        i += key_len;
        skip_ws(&mut i);
        if window.get(i) != Some(&b':') {
            return Ok(None);
        }
        i += 1;
        skip_ws(&mut i);
        if window.get(i) != Some(&b'[') {
            return Ok(None);
        }
        self.start += i + 1;
        Ok(Some(container))
    }

    /// Scans one JSON value starting at `self.start` (non-whitespace); returns its byte range in
    /// `buf` and consumes it.
    fn scan_value(&mut self) -> Result<(usize, usize), ReadError> {
        let mut scan = Scan::default();
        loop {
            let value_start = self.start;
            match scan_step(&self.buf[value_start..self.end], &mut scan, self.eof) {
                Ok(Some(len)) => {
                    if len > self.limits.max_element_bytes {
                        return Err(ReadError::ElementTooLarge {
                            offset: self.offset(value_start),
                            limit: self.limits.max_element_bytes,
                        });
                    }
                    self.start = value_start + len;
                    return Ok((value_start, value_start + len));
                }
                Ok(None) => {
                    if scan.pos > self.limits.max_element_bytes {
                        return Err(ReadError::ElementTooLarge {
                            offset: self.offset(value_start),
                            limit: self.limits.max_element_bytes,
                        });
                    }
                    let offset = self.offset(value_start);
                    if !self.refill()? {
                        return Err(ReadError::UnexpectedEof { offset });
                    }
                }
                Err(msg) => return Err(self.syntax(value_start + scan.pos, msg)),
            }
        }
    }
}

/// Advances `scan` over `data` (which always starts at the value's first byte). Returns the
/// value's length once complete, `None` when more data is needed.
fn scan_step(data: &[u8], scan: &mut Scan, at_eof: bool) -> Result<Option<usize>, &'static str> {
    let mut i = scan.pos;
    if !scan.started {
        let Some(&first) = data.first() else { return Ok(None) };
        scan.started = true;
        match first {
            b'{' | b'[' => {
                scan.depth = 1;
                i = 1;
            }
            b'"' => {
                scan.in_string = true;
                i = 1;
            }
            b'}' | b']' | b',' | b':' => return Err("unexpected character where a JSON value should start"),
            _ => {
                // A scalar (number, true, false, null, or garbage): ends at a delimiter.
                scan.depth = 0;
            }
        }
        if scan.depth == 0 && !scan.in_string {
            while i < data.len() && !matches!(data[i], b',' | b']' | b'}' | b' ' | b'\n' | b'\r' | b'\t') {
                i += 1;
            }
            scan.pos = i;
            scan.started = false;
            return if i < data.len() || at_eof {
                Ok(Some(i))
            } else {
                Ok(None)
            };
        }
    }
    loop {
        if scan.in_string {
            match memchr2(b'"', b'\\', &data[i..]) {
                None => {
                    scan.pos = data.len();
                    return Ok(None);
                }
                Some(j) => {
                    let at = i + j;
                    if data[at] == b'\\' {
                        if at + 1 >= data.len() {
                            scan.pos = at;
                            return Ok(None);
                        }
                        i = at + 2;
                        continue;
                    }
                    scan.in_string = false;
                    i = at + 1;
                    if scan.depth == 0 {
                        return Ok(Some(i));
                    }
                }
            }
        }
        while i < data.len() {
            match data[i] {
                b'"' => {
                    scan.in_string = true;
                    i += 1;
                    break;
                }
                b'{' | b'[' => scan.depth += 1,
                b'}' | b']' => {
                    scan.depth -= 1;
                    if scan.depth == 0 {
                        return Ok(Some(i + 1));
                    }
                }
                _ => {}
            }
            i += 1;
        }
        if !scan.in_string && i >= data.len() {
            scan.pos = data.len();
            return Ok(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(input: &[u8]) -> Result<Vec<(String, Container, u64)>, ReadError> {
        let mut r = ElementReader::new(
            input,
            Limits {
                max_object_bytes: 1 << 20,
                max_element_bytes: 1 << 16,
            },
        );
        let mut out = Vec::new();
        while let Some(e) = r.next_element()? {
            out.push((String::from_utf8_lossy(e.bytes).into_owned(), e.container, e.index));
        }
        Ok(out)
    }

    #[test]
    fn records_wrapper_is_streamed() {
        let got = elements(br#" { "Records" : [ {"a":"}"} , {"b":[1,{"c":"\""}]} ] } "#).expect("valid");
        assert_eq!(
            got,
            vec![
                (r#"{"a":"}"}"#.into(), Container::Records, 0),
                (r#"{"b":[1,{"c":"\""}]}"#.into(), Container::Records, 1),
            ]
        );
    }

    #[test]
    fn events_wrapper_with_trailing_members() {
        let got = elements(br#"{"Events":[{"x":1}],"NextToken":"abc"}"#).expect("valid");
        assert_eq!(got, vec![(r#"{"x":1}"#.into(), Container::Events, 0)]);
    }

    #[test]
    fn ndjson_and_array_and_single_object() {
        let got = elements(b"{\"a\":1}\n{\"b\":2}\n\n").expect("ndjson");
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].2, 1);
        let got = elements(b"[{\"a\":1},\n {\"b\":2}]").expect("array");
        assert_eq!(got.iter().map(|g| g.1).collect::<Vec<_>>(), vec![Container::Array; 2]);
        let got = elements(b"{\"NextToken\":\"x\",\"Events\":[]}").expect("object");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, Container::TopLevel);
        let got = elements(b"{\"Records\":[]}").expect("empty records");
        assert!(got.is_empty());
    }

    #[test]
    fn errors_say_where() {
        assert!(matches!(elements(b"  \n"), Err(ReadError::Empty)));
        assert!(matches!(
            elements(b"{\"Records\":[{\"a\":1}"),
            Err(ReadError::UnexpectedEof { .. })
        ));
        assert!(matches!(
            elements(b"{\"Records\":[{\"a\":1} {\"b\":1}]}"),
            Err(ReadError::Syntax { offset: 20, .. })
        ));
        assert!(matches!(
            elements(b"{\"a\":\"unterminated"),
            Err(ReadError::UnexpectedEof { offset: 0 })
        ));
    }

    #[test]
    fn element_cap_is_enforced_and_large_elements_span_refills() {
        let big = format!("{{\"Records\":[{{\"k\":\"{}\"}}]}}", "x".repeat(70_000));
        assert!(matches!(
            elements(big.as_bytes()),
            Err(ReadError::ElementTooLarge { offset: 12, .. })
        ));
        let mut r = ElementReader::new(
            big.as_bytes(),
            Limits {
                max_object_bytes: 1 << 20,
                max_element_bytes: 1 << 20,
            },
        );
        let e = r.next_element().expect("ok").expect("one element");
        assert_eq!(e.bytes.len(), 70_008);
    }

    /// A reader that hands out one byte per call, to exercise every refill boundary.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((b, rest)), Some(slot)) => {
                    *slot = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn refill_boundaries_do_not_change_the_elements() {
        let input = br#"{"Records":[{"a":"x\"y","b":[1,2,{"c":"]"}]},{"d":"\\u00e9"},{"e":null}],"NextToken":"z"}"#;
        let whole = elements(input).expect("whole");
        let mut r = ElementReader::new(
            Trickle(input),
            Limits {
                max_object_bytes: 1 << 20,
                max_element_bytes: 1 << 16,
            },
        );
        r.buf = vec![0; 3];
        let mut trickled = Vec::new();
        while let Some(e) = r.next_element().expect("trickle") {
            trickled.push((String::from_utf8_lossy(e.bytes).into_owned(), e.container, e.index));
        }
        assert_eq!(whole, trickled);
        assert_eq!(whole.len(), 3);
    }

    #[test]
    fn scalars_at_top_level_are_elements() {
        let got = elements(b"42 true \"s\"").expect("scalars");
        assert_eq!(
            got.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(),
            vec!["42", "true", "\"s\""]
        );
    }
}
