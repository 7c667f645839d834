//! Reading a run's cell results: anything that streams them, as cells or as their stored
//! JSON lines, and `results.jsonl`.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use crate::run::events::CellResult;

/// The read buffer of `results.jsonl`: lines are about a kilobyte, and a large buffer
/// saves system calls on a file of a gigabyte.
const READ_BUFFER: usize = 256 * 1024;

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
        has_next: bool,
    },
    /// Results in memory, serialized one at a time.
    Cells {
        cells: Box<dyn Iterator<Item = io::Result<CellResult>> + 'a>,
        line: Vec<u8>,
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
        let has_next = read_line(&mut reader, &mut next)?;
        Ok(ResultLines {
            inner: Inner::File {
                reader,
                line: String::new(),
                next,
                has_next,
            },
        })
    }

    /// The next line, without its newline; `None` at the end.
    pub fn next_line(&mut self) -> Option<io::Result<&str>> {
        match &mut self.inner {
            Inner::Empty => None,
            Inner::File {
                reader,
                line,
                next,
                has_next,
            } => {
                if !*has_next {
                    return None;
                }
                std::mem::swap(line, next);
                match read_line(reader, next) {
                    Ok(more) => *has_next = more,
                    Err(e) => return Some(Err(e)),
                }
                // A crash mid-write leaves a torn last line: it was never a result.
                if !*has_next && serde_json::from_str::<CellResult>(line).is_err() {
                    return None;
                }
                Some(Ok(line.as_str()))
            }
            Inner::Cells { cells, line } => {
                let cell = match cells.next()? {
                    Ok(cell) => cell,
                    Err(e) => return Some(Err(e)),
                };
                line.clear();
                if let Err(e) = serde_json::to_writer(&mut *line, &cell) {
                    return Some(Err(io::Error::other(e)));
                }
                // serde_json writes UTF-8 only.
                Some(std::str::from_utf8(line).map_err(io::Error::other))
            }
        }
    }
}

/// Reads the next line that is not blank into `line`, without its line ending; `false`
/// at the end of the file.
fn read_line(reader: &mut BufReader<File>, line: &mut String) -> io::Result<bool> {
    loop {
        line.clear();
        if reader.read_line(line)? == 0 {
            return Ok(false);
        }
        if line.ends_with('\n') {
            line.pop();
            if line.ends_with('\r') {
                line.pop();
            }
        }
        if !line.trim().is_empty() {
            return Ok(true);
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
