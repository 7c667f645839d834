//! A CSV or JSONL dataset read as a stream: its bytes hashed as they pass, a leading
//! byte-order mark left out, and the line ends just read (for CSV line numbers).
//!
//! Reading the whole file first held it beside the rows built from it: 33 MB of a
//! 250,000-row CSV at the peak of a million-cell run (issue 19).

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};

use sha2::{Digest, Sha256};

/// The UTF-8 byte-order mark some editors write first.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How much is read from the file at a time.
const CHUNK: usize = 256 * 1024;

/// The file's bytes as the parsers read them, after the byte-order mark; the hash covers
/// every byte of the file, the mark too.
pub(super) struct Tracked<R> {
    inner: BufReader<R>,
    tally: Tally,
    /// The length of the byte-order mark left out (0 or 3).
    mark: u64,
}

/// What the bytes handed out so far add up to.
struct Tally {
    hasher: Sha256,
    /// Bytes handed out so far (offsets count from after the mark, as the parsers see).
    offset: u64,
    /// Where the run of line-end bytes being read began.
    open: Option<u64>,
    /// The runs of line-end bytes (`\r`, `\n`) after the last position asked about, as
    /// `[start, end)`, and the offsets of the `\n` among them: what the parser has read
    /// ahead, so a few kilobytes.
    runs: VecDeque<(u64, u64)>,
    newlines: VecDeque<u64>,
    /// Whether line ends are noted at all: only a CSV reader asks about them, and
    /// unasked they would pile up, one entry a line.
    line_ends: bool,
}

impl<R: Read> Tracked<R> {
    /// Starts reading `inner`, leaving out a leading byte-order mark; with `line_ends`,
    /// noting the line ends [`Tracked::newlines_at`] counts.
    pub(super) fn new(inner: R, line_ends: bool) -> io::Result<Self> {
        let mut inner = BufReader::with_capacity(CHUNK, inner);
        let mut hasher = Sha256::new();
        let mut mark = 0;
        if inner.fill_buf()?.starts_with(BOM) {
            hasher.update(BOM);
            inner.consume(BOM.len());
            mark = BOM.len() as u64;
        }
        let tally = Tally {
            hasher,
            offset: 0,
            open: None,
            runs: VecDeque::new(),
            newlines: VecDeque::new(),
            line_ends,
        };
        Ok(Tracked { inner, tally, mark })
    }

    /// Where in the file the byte at `offset` (as the parsers count, after the mark) is.
    pub(super) fn file_offset(&self, offset: u64) -> u64 {
        offset + self.mark
    }

    /// Where in the file the next byte handed out is.
    pub(super) fn position(&self) -> u64 {
        self.file_offset(self.tally.offset)
    }

    /// How many `\n` follow `offset` before the next byte that is not a line end. The
    /// csv crate reports a record's position before the line ends (and blank lines) it
    /// skipped to reach it, so this is what its line number lacks. Offsets asked about
    /// must not decrease.
    pub(super) fn newlines_at(&mut self, offset: u64) -> usize {
        let tally = &mut self.tally;
        while tally.runs.front().is_some_and(|&(_, end)| end <= offset) {
            tally.runs.pop_front();
        }
        while tally.newlines.front().is_some_and(|&at| at < offset) {
            tally.newlines.pop_front();
        }
        match tally.runs.front() {
            Some(&(start, end)) if start <= offset => {
                tally.newlines.iter().take_while(|&&at| at < end).count()
            }
            _ => 0,
        }
    }

    /// Reads what is left (so the hash covers the whole file) and returns the hash,
    /// `sha256:<hex>`, and what was read.
    pub(super) fn finish(mut self) -> io::Result<(String, R)> {
        io::copy(&mut self, &mut io::sink())?;
        let hash = format!("sha256:{}", hex::encode(self.tally.hasher.finalize()));
        Ok((hash, self.inner.into_inner()))
    }
}

impl Tally {
    /// Hashes `bytes`, which start at `self.offset`, and notes the line ends among them.
    fn add(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        if !self.line_ends {
            self.offset += bytes.len() as u64;
            return;
        }
        for (i, &b) in bytes.iter().enumerate() {
            let at = self.offset + i as u64;
            match b {
                b'\n' | b'\r' => {
                    self.open.get_or_insert(at);
                    if b == b'\n' {
                        self.newlines.push_back(at);
                    }
                }
                _ => {
                    if let Some(start) = self.open.take() {
                        self.runs.push_back((start, at));
                    }
                }
            }
        }
        self.offset += bytes.len() as u64;
    }
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.tally.add(&buf[..n]);
        Ok(n)
    }
}

impl<R: Read> BufRead for Tracked<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        let buffered = self.inner.buffer();
        self.tally.add(&buffered[..amount.min(buffered.len())]);
        self.inner.consume(amount);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(bytes: &[u8]) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
    }

    #[test]
    fn the_hash_covers_the_whole_file_and_the_mark_is_left_out() {
        let file = b"\xEF\xBB\xBFid,q\na,1\n".to_vec();
        let mut tracked = Tracked::new(&file[..], true).unwrap();
        let mut first = [0u8; 4];
        tracked.read_exact(&mut first).unwrap();
        assert_eq!(&first, b"id,q");
        // Not read to the end by the parser: finish reads the rest into the hash.
        assert_eq!(tracked.finish().unwrap().0, hash(&file));
    }

    #[test]
    fn the_line_ends_after_a_position_are_counted() {
        let text = b"id,q\na,1\n\n\nb,2\r\n\r\nc,3\r\nd,4\n";
        let mut tracked = Tracked::new(&text[..], true).unwrap();
        let mut sink = Vec::new();
        tracked.read_to_end(&mut sink).unwrap();
        // Not a line end.
        assert_eq!(tracked.newlines_at(2), 0);
        // "a,1" ends at 8: its own line end and two blank lines follow.
        assert_eq!(tracked.newlines_at(8), 3);
        assert_eq!(tracked.newlines_at(9), 2);
        // "b,2\r\n" then a blank CRLF line: from the '\n' of the first, two.
        assert_eq!(tracked.newlines_at(15), 2);
        assert_eq!(tracked.newlines_at(16), 1);
        assert_eq!(tracked.newlines_at(18), 0);
    }

    #[test]
    fn lines_read_through_buf_read_are_hashed_once() {
        let text = b"{\"a\": 1}\n\n{\"a\": 2}\n".to_vec();
        let mut tracked = Tracked::new(&text[..], false).unwrap();
        let mut line = Vec::new();
        tracked.read_until(b'\n', &mut line).unwrap();
        assert_eq!(line, b"{\"a\": 1}\n");
        // Nobody asks about line ends here: none are kept.
        assert!(tracked.tally.newlines.is_empty() && tracked.tally.runs.is_empty());
        assert_eq!(tracked.finish().unwrap().0, hash(&text));
    }
}
