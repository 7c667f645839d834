//! Reading a run's cell results: anything that streams them, and `results.jsonl`.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use crate::run::events::CellResult;

/// Anything that can stream a run's cell results, as often as asked.
pub trait ResultSource {
    /// Iterates the results from the start.
    fn results(&self) -> io::Result<Box<dyn Iterator<Item = io::Result<CellResult>> + '_>>;
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

/// Streams a `results.jsonl`. A torn final line (a crash mid-write) is skipped; a bad line
/// elsewhere is an error.
pub fn read_results(path: &Path) -> io::Result<Box<dyn Iterator<Item = io::Result<CellResult>>>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Box::new(std::iter::empty())),
        Err(e) => return Err(e),
    };
    let mut lines = BufReader::new(file).lines().peekable();
    Ok(Box::new(std::iter::from_fn(move || loop {
        let line = match lines.next()? {
            Ok(line) => line,
            Err(e) => return Some(Err(e)),
        };
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<CellResult>(&line) {
            Ok(cell) => return Some(Ok(cell)),
            Err(_) if lines.peek().is_none() => return None,
            Err(e) => return Some(Err(io::Error::new(io::ErrorKind::InvalidData, e))),
        }
    })))
}
