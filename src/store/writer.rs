//! Writes a run as it happens: cells to `results.jsonl`, `run.json` at the start and end.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{
    read_results, write_comparison, write_record, ResultLines, ResultSource, RunRecord, StoreError,
    RESULTS_FILE,
};
use crate::analysis::baseline::Comparison;
use crate::run::events::{CellResult, RunEvent, RunSink};

/// The store's consumer of run events.
pub struct RunWriter {
    dir: PathBuf,
    results: File,
    /// Lines of the current batch, written out by `flush`.
    pending: Vec<u8>,
}

impl RunWriter {
    /// Starts writing a run into `dir` (created by [`super::Store::create_run`]).
    pub fn create(dir: &Path, record: &RunRecord) -> Result<RunWriter, StoreError> {
        write_record(dir, record)?;
        let path = dir.join(RESULTS_FILE);
        let file = File::options()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(StoreError::io("create", &path))?;
        Ok(RunWriter {
            dir: dir.to_path_buf(),
            results: file,
            pending: Vec::with_capacity(64 * 1024),
        })
    }

    /// Reopens a run in `dir` to append the cells still missing: cuts off a torn final
    /// line (a crash mid-write) so the next line starts clean, then writes `record`.
    pub fn resume(dir: &Path, record: &RunRecord) -> Result<RunWriter, StoreError> {
        let path = dir.join(RESULTS_FILE);
        let mut file = File::options()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(StoreError::io("open", &path))?;
        let keep = whole_lines_len(&mut file).map_err(StoreError::io("read", &path))?;
        file.set_len(keep).map_err(StoreError::io("write", &path))?;
        write_record(dir, record)?;
        Ok(RunWriter {
            dir: dir.to_path_buf(),
            results: file,
            pending: Vec::with_capacity(64 * 1024),
        })
    }

    /// Reopens a run in `dir` keeping only the results `keep` (`run --retry-errors` drops
    /// the error cells it runs again): the results file is replaced atomically, then
    /// opened for appending as [`RunWriter::resume`] does.
    pub fn rewrite(
        dir: &Path,
        record: &RunRecord,
        keep: &[CellResult],
    ) -> Result<RunWriter, StoreError> {
        let path = dir.join(RESULTS_FILE);
        let temp = dir.join(format!("{RESULTS_FILE}.tmp"));
        let mut text = String::new();
        for cell in keep {
            let line = serde_json::to_string(cell)
                .map_err(|e| StoreError::io("write", &temp)(io::Error::other(e)))?;
            text.push_str(&line);
            text.push('\n');
        }
        std::fs::write(&temp, text).map_err(StoreError::io("write", &temp))?;
        std::fs::rename(&temp, &path).map_err(StoreError::io("write", &path))?;
        RunWriter::resume(dir, record)
    }

    /// The run's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes out and syncs every result handed over so far, so that reading the results
    /// file back (see the [`ResultSource`] impl) sees them all.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        let path = self.dir.join(RESULTS_FILE);
        self.flush().map_err(StoreError::io("write", &path))?;
        self.results
            .sync_data()
            .map_err(StoreError::io("write", &path))
    }

    /// Syncs the results, writes the comparison with the baseline (when there is one) and
    /// replaces `run.json` with the final record, last.
    pub fn finish(
        mut self,
        record: &RunRecord,
        comparison: Option<&Comparison>,
    ) -> Result<(), StoreError> {
        self.sync()?;
        if let Some(comparison) = comparison {
            write_comparison(&self.dir, comparison)?;
        }
        write_record(&self.dir, record)
    }
}

impl ResultSource for RunWriter {
    fn results(&self) -> io::Result<Box<dyn Iterator<Item = io::Result<CellResult>> + '_>> {
        read_results(&self.dir.join(RESULTS_FILE))
    }

    fn lines(&self) -> io::Result<ResultLines<'_>> {
        ResultLines::file(&self.dir.join(RESULTS_FILE))
    }

    fn lines_at(&self, positions: &[u64]) -> io::Result<ResultLines<'_>> {
        ResultLines::file_at(&self.dir.join(RESULTS_FILE), positions)
    }
}

impl RunSink for RunWriter {
    fn on_event(&mut self, event: &RunEvent<'_>) -> io::Result<()> {
        match event {
            RunEvent::CellFinished { line, .. } => {
                self.pending.extend_from_slice(line.as_bytes());
                self.pending.push(b'\n');
            }
            RunEvent::Interrupted | RunEvent::Finished { .. } => self.flush()?,
            RunEvent::Started { .. } | RunEvent::Retrying { .. } => {}
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            // Whole lines in one write: a kill leaves whole lines and at most one torn tail.
            self.results.write_all(&self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }
}

/// The length of `file` up to and including its last newline.
fn whole_lines_len(file: &mut File) -> io::Result<u64> {
    let len = file.seek(SeekFrom::End(0))?;
    let mut end = len;
    let mut buf = [0u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_tail_is_cut_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(RESULTS_FILE);
        std::fs::write(&path, "{\"a\":1}\n{\"b\":2}\n{\"c\":").unwrap();
        let mut f = File::options().read(true).open(&path).unwrap();
        assert_eq!(whole_lines_len(&mut f).unwrap(), 16);
        std::fs::write(&path, "no newline at all").unwrap();
        let mut f = File::options().read(true).open(&path).unwrap();
        assert_eq!(whole_lines_len(&mut f).unwrap(), 0);
        let long = format!("{}\n{}", "x".repeat(10_000), "y".repeat(9_000));
        std::fs::write(&path, &long).unwrap();
        let mut f = File::options().read(true).open(&path).unwrap();
        assert_eq!(whole_lines_len(&mut f).unwrap(), 10_001);
    }
}
