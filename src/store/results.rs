//! Reading a run's cell results: anything that streams them, as cells or as their stored
//! JSON lines, and `results.jsonl`.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

use crate::run::events::CellResult;

/// The read buffer of `results.jsonl`: lines are about a kilobyte, and eight times std's
/// default saves system calls on a file of a gigabyte.
const READ_BUFFER: usize = 64 * 1024;

/// Anything that can stream a run's cell results, as often as asked.
pub trait ResultSource {
    /// Iterates the results from the start.
    fn results(&self) -> io::Result<Box<dyn Iterator<Item = io::Result<CellResult>> + '_>>;

    /// Iterates the results from the start as their JSON lines, as `results.jsonl` holds
    /// them (without the newline). A reader that needs a few fields parses only those
    /// (see [`super::CellHead`]), and a report that copies cells copies the lines.
    ///
    /// The default serializes each of [`ResultSource::results`]; a stored run reads its
    /// file.
    fn lines(&self) -> io::Result<ResultLines<'_>> {
        Ok(ResultLines {
            inner: Inner::Cells {
                cells: self.results()?,
                line: Vec::new(),
                at: None,
            },
        })
    }

    /// The lines at `positions` (as [`ResultLines::position`] gave them while reading
    /// [`ResultSource::lines`]), in the order of the positions: a second look at a few
    /// cells without reading every line again.
    ///
    /// The default reads every line and keeps those; a stored run seeks to each.
    fn lines_at(&self, positions: &[u64]) -> io::Result<ResultLines<'_>> {
        let mut wanted: Vec<u64> = positions.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let mut picked = Vec::with_capacity(wanted.len());
        let mut all = self.lines()?;
        let mut next = wanted.iter().peekable();
        while let Some(line) = all.next_at() {
            let (at, line) = line?;
            while next.next_if(|p| **p < at).is_some() {}
            if next.next_if(|p| **p == at).is_some() {
                picked.push((at, line.to_string()));
            }
        }
        picked.reverse();
        Ok(ResultLines {
            inner: Inner::Picked {
                lines: picked,
                line: String::new(),
                at: 0,
            },
        })
    }
}

impl ResultSource for [CellResult] {
    fn results(&self) -> io::Result<Box<dyn Iterator<Item = io::Result<CellResult>> + '_>> {
        Ok(Box::new(self.iter().cloned().map(Ok)))
    }
}

impl ResultSource for Vec<CellResult> {
    fn results(&self) -> io::Result<Box<dyn Iterator<Item = io::Result<CellResult>> + '_>> {
        self.as_slice().results()
    }
}

/// A run's results as JSON lines, one at a time: each line is borrowed until the next
/// call of [`ResultLines::next_line`], so reading a file allocates nothing per line.
pub struct ResultLines<'a> {
    inner: Inner<'a>,
}

enum Inner<'a> {
    /// A `results.jsonl`: `line` is handed out, `next` is read ahead to know whether
    /// `line` is the last one (a torn last line is skipped, a bad line elsewhere is not).
    File {
        reader: Box<BufReader<File>>,
        line: String,
        next: String,
        /// Where `line` and `next` start; `next_at` is `None` at the end.
        line_at: u64,
        next_at: Option<u64>,
        /// Bytes read so far.
        read: u64,
    },
    /// Lines of a `results.jsonl` at byte offsets, in order.
    At {
        reader: BufReader<File>,
        positions: std::vec::IntoIter<u64>,
        line: String,
        at: u64,
    },
    /// Results in memory, serialized one at a time; `at` counts them.
    Cells {
        cells: Box<dyn Iterator<Item = io::Result<CellResult>> + 'a>,
        line: Vec<u8>,
        at: Option<u64>,
    },
    /// Lines picked from another reading, last first.
    Picked {
        lines: Vec<(u64, String)>,
        line: String,
        at: u64,
    },
    Empty,
}

impl ResultLines<'_> {
    /// The lines of the `results.jsonl` at `path`; none when there is no such file.
    pub fn file(path: &Path) -> io::Result<ResultLines<'static>> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(ResultLines {
                    inner: Inner::Empty,
                })
            }
            Err(e) => return Err(e),
        };
        let mut reader = Box::new(BufReader::with_capacity(READ_BUFFER, file));
        let mut next = String::new();
        let mut read = 0;
        let next_at = read_line(&mut reader, &mut next, &mut read)?;
        Ok(ResultLines {
            inner: Inner::File {
                reader,
                line: String::new(),
                next,
                line_at: 0,
                next_at,
                read,
            },
        })
    }

    /// The lines of the `results.jsonl` at `path` that start at the byte offsets
    /// `positions`, in ascending order.
    pub fn file_at(path: &Path, positions: &[u64]) -> io::Result<ResultLines<'static>> {
        let mut positions = positions.to_vec();
        positions.sort_unstable();
        positions.dedup();
        Ok(ResultLines {
            inner: Inner::At {
                reader: BufReader::new(File::open(path)?),
                positions: positions.into_iter(),
                line: String::new(),
                at: 0,
            },
        })
    }

    /// Where the line last returned is: its byte offset in a file, its index in memory.
    pub fn position(&self) -> u64 {
        match &self.inner {
            Inner::File { line_at, .. } => *line_at,
            Inner::At { at, .. } | Inner::Picked { at, .. } => *at,
            Inner::Cells { at, .. } => at.unwrap_or(0),
            Inner::Empty => 0,
        }
    }

    /// The next line, without its newline; `None` at the end.
    pub fn next_line(&mut self) -> Option<io::Result<&str>> {
        Some(self.next_at()?.map(|(_, line)| line))
    }

    /// The next line with its [`ResultLines::position`].
    pub fn next_at(&mut self) -> Option<io::Result<(u64, &str)>> {
        Some(self.advance()?.map(|()| (self.position(), self.current())))
    }

    /// The line last read.
    fn current(&self) -> &str {
        match &self.inner {
            Inner::File { line, .. } | Inner::At { line, .. } | Inner::Picked { line, .. } => line,
            // Checked to be UTF-8 when it was written (serde_json writes nothing else).
            Inner::Cells { line, .. } => std::str::from_utf8(line).unwrap_or_default(),
            Inner::Empty => "",
        }
    }

    fn advance(&mut self) -> Option<io::Result<()>> {
        match &mut self.inner {
            Inner::Empty => None,
            Inner::File {
                reader,
                line,
                next,
                line_at,
                next_at,
                read,
            } => {
                *line_at = (*next_at)?;
                std::mem::swap(line, next);
                match read_line(reader, next, read) {
                    Ok(at) => *next_at = at,
                    Err(e) => return Some(Err(e)),
                }
                // A crash mid-write leaves a torn last line: it was never a result.
                if next_at.is_none() && serde_json::from_str::<CellResult>(line).is_err() {
                    return None;
                }
                Some(Ok(()))
            }
            Inner::At {
                reader,
                positions,
                line,
                at,
            } => {
                *at = positions.next()?;
                let read = reader
                    .seek(SeekFrom::Start(*at))
                    .and_then(|_| read_line(reader, line, &mut 0));
                match read {
                    Ok(Some(_)) => Some(Ok(())),
                    Ok(None) => None,
                    Err(e) => Some(Err(e)),
                }
            }
            Inner::Picked { lines, line, at } => {
                (*at, *line) = lines.pop()?;
                Some(Ok(()))
            }
            Inner::Cells { cells, line, at } => {
                let cell = match cells.next()? {
                    Ok(cell) => cell,
                    Err(e) => return Some(Err(e)),
                };
                *at = Some(at.map_or(0, |i| i + 1));
                line.clear();
                if let Err(e) = serde_json::to_writer(&mut *line, &cell) {
                    return Some(Err(io::Error::other(e)));
                }
                // serde_json writes UTF-8 only.
                Some(
                    std::str::from_utf8(line)
                        .map(|_| ())
                        .map_err(io::Error::other),
                )
            }
        }
    }
}

/// Reads the next line that is not blank into `line`, without its line ending, counting
/// the bytes in `read`: where the line starts, `None` at the end of the file.
fn read_line(
    reader: &mut BufReader<File>,
    line: &mut String,
    read: &mut u64,
) -> io::Result<Option<u64>> {
    loop {
        line.clear();
        let start = *read;
        let n = reader.read_line(line)?;
        if n == 0 {
            return Ok(None);
        }
        *read += n as u64;
        if line.ends_with('\n') {
            line.pop();
            if line.ends_with('\r') {
                line.pop();
            }
        }
        if !line.trim().is_empty() {
            return Ok(Some(start));
        }
    }
}

/// Parses one stored line as a whole cell; a line that is not one is invalid data.
pub fn parse_cell(line: &str) -> io::Result<CellResult> {
    serde_json::from_str(line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Streams a `results.jsonl`. A torn final line (a crash mid-write) is skipped; a bad line
/// elsewhere is an error.
pub fn read_results(path: &Path) -> io::Result<Box<dyn Iterator<Item = io::Result<CellResult>>>> {
    let mut lines = ResultLines::file(path)?;
    Ok(Box::new(std::iter::from_fn(move || {
        Some(lines.next_line()?.and_then(parse_cell))
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(source: &dyn ResultSource) -> Vec<String> {
        collect(source.lines().unwrap())
    }

    fn collect(mut lines: ResultLines<'_>) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(line) = lines.next_line() {
            out.push(line.unwrap().to_string());
        }
        out
    }

    /// Issue 19: the lines of a stored file are the lines as written, a torn last line
    /// and blank lines left out; a bad line before the last is an error.
    #[test]
    fn stored_lines_are_read_as_written() {
        let (_, cells) = crate::report::fixture::small();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.jsonl");
        let written: Vec<String> = cells
            .iter()
            .map(|c| serde_json::to_string(c).unwrap())
            .collect();
        let text = format!("{}\n\n{}\n{{\"eval\":\"x", written[0], written[1]);
        std::fs::write(&path, text).unwrap();
        assert_eq!(collect(ResultLines::file(&path).unwrap()), written[..2]);
        let parsed: Vec<CellResult> = read_results(&path).unwrap().map(Result::unwrap).collect();
        assert_eq!(parsed, cells[..2]);

        std::fs::write(
            &path,
            format!("{}\r\nnot json\n{}\n", written[0], written[1]),
        )
        .unwrap();
        let mut read = read_results(&path).unwrap();
        assert_eq!(read.next().unwrap().unwrap(), cells[0]);
        let err = read.next().unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);

        let missing = ResultLines::file(&dir.path().join("none.jsonl")).unwrap();
        assert!(collect(missing).is_empty());
    }

    /// Issue 19: a second look at a few lines, by the positions a first reading gave,
    /// reads those lines, from a file (by seeking) as from memory.
    #[test]
    fn lines_are_found_again_by_their_position() {
        let (_, cells) = crate::report::fixture::small();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.jsonl");
        let mut text = String::new();
        for cell in &cells {
            text.push_str(&serde_json::to_string(cell).unwrap());
            text.push_str("\n\n");
        }
        std::fs::write(&path, text).unwrap();
        let mut lines = ResultLines::file(&path).unwrap();
        let mut all = Vec::new();
        while let Some(line) = lines.next_at() {
            let (at, line) = line.unwrap();
            all.push((at, line.to_string()));
        }
        let from_memory = {
            let mut lines = cells.lines().unwrap();
            let mut at = Vec::new();
            while let Some(line) = lines.next_at() {
                at.push(line.unwrap().0);
            }
            at
        };
        assert_eq!(from_memory, (0..cells.len() as u64).collect::<Vec<_>>());
        let want = [all[5].clone(), all[1].clone(), all[5].clone()];
        let picked =
            collect(ResultLines::file_at(&path, &[want[0].0, want[1].0, want[0].0]).unwrap());
        assert_eq!(picked, [all[1].1.clone(), all[5].1.clone()]);
        let picked = collect(cells.lines_at(&[5, 1, 5]).unwrap());
        assert_eq!(picked, [all[1].1.clone(), all[5].1.clone()]);
    }

    /// Results in memory read as the lines the store would hold for them.
    #[test]
    fn cells_in_memory_read_as_their_stored_lines() {
        let (_, cells) = crate::report::fixture::small();
        let expected: Vec<String> = cells
            .iter()
            .map(|c| serde_json::to_string(c).unwrap())
            .collect();
        assert_eq!(lines_of(&cells), expected);
    }
}
