//! Writes a run as it happens: each finished cell is appended to `results.jsonl`, and
//! `run.json` is written at the start and replaced atomically at the end.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{RunRecord, StoreError, RECORD_FILE, RESULTS_FILE};
use crate::events::{RunEvent, RunSink};

/// How long finished cells may sit in the buffer before they reach the file.
const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// The store's consumer of run events.
pub struct RunWriter {
    dir: PathBuf,
    results: BufWriter<File>,
    last_flush: Instant,
    line: Vec<u8>,
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
            results: BufWriter::with_capacity(256 * 1024, file),
            last_flush: Instant::now(),
            line: Vec::with_capacity(4096),
        })
    }

    /// The run's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Flushes the results and replaces `run.json` with the final record.
    pub fn finish(mut self, record: &RunRecord) -> Result<(), StoreError> {
        let path = self.dir.join(RESULTS_FILE);
        self.results
            .flush()
            .map_err(StoreError::io("write", &path))?;
        write_record(&self.dir, record)
    }
}

impl RunSink for RunWriter {
    fn on_event(&mut self, event: &RunEvent<'_>) -> io::Result<()> {
        match event {
            RunEvent::CellFinished(cell) => {
                self.line.clear();
                serde_json::to_writer(&mut self.line, cell)?;
                self.line.push(b'\n');
                self.results.write_all(&self.line)?;
                if self.last_flush.elapsed() >= FLUSH_EVERY {
                    self.results.flush()?;
                    self.last_flush = Instant::now();
                }
            }
            RunEvent::Interrupted | RunEvent::Finished { .. } => self.results.flush()?,
            RunEvent::Started { .. } | RunEvent::Retrying { .. } => {}
        }
        Ok(())
    }
}

/// Writes `run.json` atomically (temporary file, then rename).
pub fn write_record(dir: &Path, record: &RunRecord) -> Result<(), StoreError> {
    let path = dir.join(RECORD_FILE);
    let tmp = dir.join(format!("{RECORD_FILE}.tmp"));
    let bytes = serde_json::to_vec_pretty(record).map_err(|e| StoreError::Io {
        action: "serialize",
        path: path.clone(),
        source: io::Error::other(e),
    })?;
    std::fs::write(&tmp, bytes).map_err(StoreError::io("write", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(StoreError::io("write", &path))
}
