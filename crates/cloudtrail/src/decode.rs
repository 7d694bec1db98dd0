//! Transparent, capped decompression: gzip (single or multi-member) or plain bytes.
//!
//! Uses flate2's low-level `Decompress` so inflated bytes land straight in the caller's buffer
//! (no second copy through a `BufRead`), and counts every byte so a decompression bomb is
//! reported as [`ReadError::ObjectTooLarge`] instead of exhausting memory.

use std::io::Read;

use flate2::{Decompress, FlushDecompress, Status};

use crate::error::ReadError;

const IN_CHUNK: usize = 256 * 1024;

/// Reads an object's bytes, inflating gzip when the data starts with the gzip magic.
pub struct Decoder<R> {
    inner: R,
    inflater: Option<Decompress>,
    input: Vec<u8>,
    in_pos: usize,
    in_len: usize,
    in_eof: bool,
    /// Compressed bytes consumed before `input[0]`.
    compressed_base: u64,
    produced: u64,
    limit: u64,
    sniffed: bool,
    member_done: bool,
}

impl<R: Read> Decoder<R> {
    #[cfg(test)]
    pub fn new(inner: R, limit: u64) -> Self {
        Self::with_buffer(inner, limit, Vec::new())
    }

    /// Like [`Decoder::new`], reusing `input` as the compressed-data buffer (allocating and
    /// zeroing a fresh one per small object showed up as a tenth of ingest CPU).
    pub fn with_buffer(inner: R, limit: u64, mut input: Vec<u8>) -> Self {
        if input.len() < IN_CHUNK {
            input.resize(IN_CHUNK, 0);
        }
        Self {
            inner,
            inflater: None,
            input,
            in_pos: 0,
            in_len: 0,
            in_eof: false,
            compressed_base: 0,
            produced: 0,
            limit,
            sniffed: false,
            member_done: false,
        }
    }

    /// Gives the input buffer back for reuse.
    pub fn into_buffer(self) -> Vec<u8> {
        self.input
    }

    /// Decompressed bytes produced so far.
    pub fn produced(&self) -> u64 {
        self.produced
    }

    fn fill_input(&mut self) -> Result<(), ReadError> {
        if self.in_pos < self.in_len || self.in_eof {
            return Ok(());
        }
        self.compressed_base += self.in_len as u64;
        self.in_pos = 0;
        self.in_len = 0;
        loop {
            match self.inner.read(&mut self.input) {
                Ok(0) => {
                    self.in_eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.in_len = n;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(ReadError::Io {
                        decompressed_offset: self.produced,
                        source,
                    });
                }
            }
        }
    }

    fn sniff(&mut self) -> Result<(), ReadError> {
        self.sniffed = true;
        // Two bytes decide; a read may return one byte at a time, so gather them.
        while self.in_len - self.in_pos < 2 && !self.in_eof {
            if self.in_pos == self.in_len {
                self.fill_input()?;
            } else {
                let have = self.in_len - self.in_pos;
                self.input.copy_within(self.in_pos..self.in_len, 0);
                self.compressed_base += self.in_pos as u64;
                self.in_pos = 0;
                self.in_len = have;
                match self.inner.read(&mut self.input[have..]) {
                    Ok(0) => self.in_eof = true,
                    Ok(n) => self.in_len += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(source) => {
                        return Err(ReadError::Io {
                            decompressed_offset: 0,
                            source,
                        });
                    }
                }
            }
        }
        if self.input[self.in_pos..self.in_len].starts_with(&[0x1f, 0x8b]) {
            self.inflater = Some(Decompress::new_gzip(15));
        }
        Ok(())
    }

    fn count(&mut self, n: usize) -> Result<usize, ReadError> {
        self.produced += n as u64;
        if self.produced > self.limit {
            return Err(ReadError::ObjectTooLarge { limit: self.limit });
        }
        Ok(n)
    }

    /// Fills `out` with the next decompressed bytes; `Ok(0)` means the object ended.
    pub fn read_into(&mut self, out: &mut [u8]) -> Result<usize, ReadError> {
        if out.is_empty() {
            return Ok(0);
        }
        if !self.sniffed {
            self.sniff()?;
        }
        if self.inflater.is_none() {
            if self.in_pos < self.in_len {
                let n = out.len().min(self.in_len - self.in_pos);
                out[..n].copy_from_slice(&self.input[self.in_pos..self.in_pos + n]);
                self.in_pos += n;
                return self.count(n);
            }
            return loop {
                match self.inner.read(out) {
                    Ok(n) => break self.count(n),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(source) => {
                        break Err(ReadError::Io {
                            decompressed_offset: self.produced,
                            source,
                        });
                    }
                }
            };
        }
        loop {
            self.fill_input()?;
            if self.member_done {
                // Concatenated gzip members are one stream (`cat a.gz b.gz`); trailing NUL
                // padding, as some tools write, ends the object.
                while self.in_pos < self.in_len && self.input[self.in_pos] == 0 {
                    self.in_pos += 1;
                }
                if self.in_pos == self.in_len {
                    if self.in_eof {
                        return Ok(0);
                    }
                    continue;
                }
                self.member_done = false;
                self.inflater = Some(Decompress::new_gzip(15));
            }
            let compressed_offset = self.compressed_base + self.in_pos as u64;
            let Some(inf) = self.inflater.as_mut() else {
                return Ok(0);
            };
            let before_in = inf.total_in();
            let before_out = inf.total_out();
            let status = inf
                .decompress(&self.input[self.in_pos..self.in_len], out, FlushDecompress::None)
                .map_err(|e| ReadError::Gzip {
                    compressed_offset,
                    message: e.message().unwrap_or("invalid deflate data").to_string(),
                })?;
            let consumed = usize::try_from(inf.total_in() - before_in).unwrap_or(usize::MAX);
            let written = usize::try_from(inf.total_out() - before_out).unwrap_or(usize::MAX);
            self.in_pos += consumed;
            if status == Status::StreamEnd {
                self.member_done = true;
            }
            if written > 0 {
                return self.count(written);
            }
            if self.member_done {
                continue;
            }
            if self.in_pos == self.in_len && self.in_eof {
                return Err(ReadError::TruncatedGzip {
                    compressed_offset: self.compressed_base + self.in_pos as u64,
                });
            }
            if consumed == 0 && self.in_pos < self.in_len {
                // No progress with input available and room in `out`: corrupt stream.
                return Err(ReadError::Gzip {
                    compressed_offset,
                    message: "decoder made no progress".into(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).expect("in-memory write");
        e.finish().expect("in-memory finish")
    }

    fn read_all(bytes: &[u8], limit: u64) -> Result<Vec<u8>, ReadError> {
        let mut d = Decoder::new(bytes, limit);
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = d.read_into(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn plain_and_gzip_and_multimember() {
        assert_eq!(read_all(b"{\"a\":1}", 100).expect("plain"), b"{\"a\":1}");
        assert_eq!(read_all(&gz(b"hello world"), 100).expect("gz"), b"hello world");
        let mut two = gz(b"first ");
        two.extend(gz(b"second"));
        assert_eq!(read_all(&two, 100).expect("two members"), b"first second");
    }

    #[test]
    fn truncated_gzip_is_reported() {
        let data = gz(&vec![b'x'; 100_000]
            .iter()
            .enumerate()
            .map(|(i, _)| (i % 251) as u8)
            .collect::<Vec<_>>());
        let cut = &data[..data.len() / 2];
        match read_all(cut, u64::MAX) {
            Err(ReadError::TruncatedGzip { .. }) => {}
            other => panic!("expected truncation, got {other:?}"),
        }
    }

    #[test]
    fn cap_stops_a_bomb() {
        let data = gz(&vec![b' '; 1_000_000]);
        match read_all(&data, 10_000) {
            Err(ReadError::ObjectTooLarge { limit: 10_000 }) => {}
            other => panic!("expected cap, got {other:?}"),
        }
    }
}
