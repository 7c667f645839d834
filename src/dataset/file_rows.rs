//! The rows of a large CSV or JSONL dataset, read again from its file when asked: where
//! each row starts, one cursor that reads on in file order, and the rows read last.
//!
//! Holding every row cost about 240 bytes a row, so memory grew with the dataset (issue
//! 19). The load checks every row and notes where it starts and its checksum (16 bytes a
//! row); a run then reads rows in file order, as its cells go, through the same open
//! file. A row whose bytes changed since the load is an error, never a different row.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value as Json};

use super::row::{RawRow, Row, RowMaker};
use super::DatasetError;

/// How many of the rows read last are kept, by index modulo this: the cells of one row
/// (its prompts × models × repeats) and its group follow each other closely.
const RECENT: usize = 1024;

/// What a row's record looks like in the file.
#[derive(Clone, Debug)]
pub(super) enum Shape {
    /// A CSV record, laid out as its header says.
    Csv(super::csv::CsvLayout),
    /// One JSON object on a line.
    Jsonl,
}

/// A row's checksum: its fields' bytes (a CSV record's fields, a JSONL line without its
/// line end), each after its length. A row read again must have the sum the load noted.
pub(super) fn checksum<'a>(fields: impl Iterator<Item = &'a [u8]>) -> u32 {
    use std::hash::Hasher;
    // SipHash with fixed keys: the same sum in the load and when read again.
    let mut hasher = std::hash::DefaultHasher::new();
    for field in fields {
        hasher.write_usize(field.len());
        hasher.write(field);
    }
    hasher.finish() as u32
}

/// A JSONL line without its line end.
pub(super) fn line_body(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Where each row starts, as the load noted it.
#[derive(Clone, Debug, Default)]
pub(super) struct Starts {
    /// The byte offset in the file of each row's record (or of the line ends before it).
    offsets: Vec<u64>,
    /// The 1-based line each row starts on.
    lines: Vec<u32>,
    /// Each row's [`checksum`].
    sums: Vec<u32>,
}

impl Starts {
    pub(super) fn push(&mut self, offset: u64, line: usize, sum: u32) {
        self.offsets.push(offset);
        self.lines.push(u32::try_from(line).unwrap_or(u32::MAX));
        self.sums.push(sum);
    }

    pub(super) fn len(&self) -> usize {
        self.offsets.len()
    }

    pub(super) fn reserve(&mut self, more: usize) {
        self.offsets.reserve_exact(more);
        self.lines.reserve_exact(more);
        self.sums.reserve_exact(more);
    }

    pub(super) fn truncate(&mut self, len: usize) {
        self.offsets.truncate(len);
        self.lines.truncate(len);
        self.sums.truncate(len);
    }

    /// Where row `i` starts: its offset, line and checksum.
    pub(super) fn get(&self, i: usize) -> (u64, usize, u32) {
        (
            self.offset(i),
            self.line(i),
            self.sums.get(i).copied().unwrap_or(0),
        )
    }

    pub(super) fn line(&self, i: usize) -> usize {
        self.lines.get(i).map_or(0, |&l| l as usize)
    }

    pub(super) fn offset(&self, i: usize) -> u64 {
        self.offsets.get(i).copied().unwrap_or(0)
    }
}

/// The rows of a dataset too large to hold, read from its file.
pub(super) struct FileRows {
    path: PathBuf,
    shape: Shape,
    starts: Starts,
    /// The index in the file of the first row of `starts` (0 but for [`FileRows::one`]).
    first: usize,
    reader: Mutex<Reader>,
}

impl std::fmt::Debug for FileRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} rows read from {}", self.len(), self.path.display())
    }
}

/// What reads: the cursor, the maker that builds rows, the rows read last.
struct Reader {
    cursor: Cursor,
    /// The index of the row the cursor reads next.
    next: usize,
    maker: RowMaker,
    /// The CSV record read last, its buffers reused.
    record: csv::StringRecord,
    /// Row `i` is at `i % RECENT`, with its index.
    recent: Vec<Option<(usize, Arc<Row>)>>,
}

/// The open file, as a reader of records positioned at one.
enum Cursor {
    Idle(File),
    Csv(Box<csv::Reader<File>>),
    Jsonl(BufReader<File>),
    /// Between two states, or after a failed seek.
    Gone,
}

impl Cursor {
    fn into_file(self) -> Option<File> {
        match self {
            Cursor::Idle(file) => Some(file),
            Cursor::Csv(reader) => Some(reader.into_inner()),
            Cursor::Jsonl(reader) => Some(reader.into_inner()),
            Cursor::Gone => None,
        }
    }
}

impl FileRows {
    /// The rows of `file` (opened by the load) that start at `starts`; `maker` builds
    /// them as the load did.
    pub(super) fn new(
        path: &Path,
        file: File,
        shape: Shape,
        starts: Starts,
        maker: RowMaker,
    ) -> FileRows {
        FileRows {
            path: path.to_path_buf(),
            shape,
            starts,
            first: 0,
            reader: Mutex::new(Reader {
                cursor: Cursor::Idle(file),
                next: usize::MAX,
                maker,
                record: csv::StringRecord::new(),
                recent: vec![None; RECENT],
            }),
        }
    }

    /// Row `index` of `file` alone, which starts at `start` (its offset, line and
    /// checksum): to read one earlier row again while the load goes on.
    pub(super) fn one(
        path: &Path,
        file: File,
        (shape, maker): (Shape, RowMaker),
        start: (u64, usize, u32),
        index: usize,
    ) -> Result<Row, DatasetError> {
        let mut starts = Starts::default();
        starts.push(start.0, start.1, start.2);
        let mut rows = FileRows::new(path, file, shape, starts, maker);
        rows.first = index;
        Ok(Arc::unwrap_or_clone(rows.row(0)?))
    }

    pub(super) fn len(&self) -> usize {
        self.starts.len()
    }

    /// The `i`-th row, read from the file unless it was read lately.
    pub(super) fn row(&self, i: usize) -> Result<Arc<Row>, DatasetError> {
        let mut reader = self.reader.lock().map_err(|_| self.changed())?;
        if let Some((_, row)) = reader.recent[i % RECENT]
            .as_ref()
            .filter(|(at, _)| *at == i)
        {
            return Ok(row.clone());
        }
        let row = Arc::new(self.read(&mut reader, i)?);
        reader.recent[i % RECENT] = Some((i, row.clone()));
        Ok(row)
    }

    /// Reads row `i` from the file: on from the cursor when it is the next row, else
    /// from where the row starts.
    fn read(&self, reader: &mut Reader, i: usize) -> Result<Row, DatasetError> {
        if i >= self.len() {
            return Err(self.changed());
        }
        if reader.next != i {
            self.seek(reader, i)?;
        }
        // Until this row is read whole, where the cursor is is not known.
        reader.next = usize::MAX;
        let line = self.starts.line(i);
        // The load built this row from the same bytes (the checksum says so); failing
        // now means they changed.
        let row = match (&mut reader.cursor, &self.shape) {
            (Cursor::Csv(csv), Shape::Csv(layout)) => {
                let record = &mut reader.record;
                if !csv.read_record(record).map_err(|_| self.changed())?
                    || record.len() != layout.headers.len()
                    || checksum(record.iter().map(str::as_bytes)) != self.starts.sums[i]
                {
                    return Err(self.changed());
                }
                reader.maker.csv(layout, record, line, self.first + i)
            }
            (Cursor::Jsonl(jsonl), Shape::Jsonl) => {
                let vars = self.jsonl(jsonl, i)?;
                let mut unused = Vec::new();
                reader
                    .maker
                    .make(RawRow { line, vars }, self.first + i, &mut unused)
            }
            _ => return Err(self.changed()),
        };
        reader.next = i + 1;
        row.map_err(|_| self.changed())
    }

    /// Puts the cursor where row `i` starts.
    fn seek(&self, reader: &mut Reader, i: usize) -> Result<(), DatasetError> {
        let cursor = std::mem::replace(&mut reader.cursor, Cursor::Gone);
        let mut file = cursor.into_file().ok_or_else(|| self.changed())?;
        file.seek(SeekFrom::Start(self.starts.offset(i)))
            .map_err(|e| self.read_error(e))?;
        reader.cursor = match self.shape {
            Shape::Csv(_) => Cursor::Csv(Box::new(
                csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(file),
            )),
            Shape::Jsonl => Cursor::Jsonl(BufReader::new(file)),
        };
        reader.next = i;
        Ok(())
    }

    /// The variables of the next line of a JSONL file that is not blank, row `i`.
    fn jsonl(
        &self,
        reader: &mut BufReader<File>,
        i: usize,
    ) -> Result<Map<String, Json>, DatasetError> {
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| self.read_error(e))?;
            if read == 0 {
                return Err(self.changed());
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let body = line_body(&line);
            if checksum([body].into_iter()) != self.starts.sums[i] {
                return Err(self.changed());
            }
            return match serde_json::from_slice::<Json>(body) {
                Ok(Json::Object(vars)) => Ok(vars),
                _ => Err(self.changed()),
            };
        }
    }

    fn changed(&self) -> DatasetError {
        DatasetError::Changed {
            path: self.path.clone(),
        }
    }

    fn read_error(&self, source: std::io::Error) -> DatasetError {
        DatasetError::Read {
            path: self.path.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, name: &str) -> (tempfile::TempDir, super::super::Dataset) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), text).unwrap();
        let (dataset, _) = super::super::load::load_holding(dir.path(), name.as_ref(), 0)
            .unwrap_or_else(|e| panic!("{e}"));
        (dir, dataset)
    }

    #[test]
    fn rows_read_out_of_order_are_the_rows_of_the_file() {
        let (_dir, d) = load("id,q\na,1\n\nb,\"two\nlines\"\r\nc,3\n", "d.csv");
        for i in [2, 0, 1, 2, 1, 0] {
            let row = d.row(i).unwrap();
            assert_eq!(row.id, ["a", "b", "c"][i]);
            assert_eq!(row.line, [2, 4, 6][i]);
        }
        assert_eq!(
            d.row(1).unwrap().vars.get("q"),
            Some(Json::from("two\nlines"))
        );
        assert!(d.row(3).is_err());
    }

    #[test]
    fn jsonl_rows_skip_blank_lines_when_read_again() {
        let (_dir, d) = load(
            "{\"id\": \"a\"}\n\n  \n{\"id\": \"b\", \"n\": 2}\n",
            "d.jsonl",
        );
        assert_eq!(d.row(1).unwrap().vars.get("n"), Some(Json::from(2)));
        assert_eq!(d.row(0).unwrap().id, "a");
        assert_eq!(d.row(1).unwrap().line, 4);
    }

    /// A dataset rewritten while a run reads it is an error, not someone else's row.
    #[test]
    fn a_file_changed_after_the_load_is_an_error_naming_it() {
        let (dir, d) = load("id,q\na,1\nb,2\nc,3\n", "d.csv");
        assert_eq!(d.row(0).unwrap().id, "a");
        // The same layout, one value changed.
        std::fs::write(dir.path().join("d.csv"), "id,q\na,1\nb,2\nc,9\n").unwrap();
        let err = d.row(2).unwrap_err();
        assert!(matches!(err, DatasetError::Changed { .. }), "{err:?}");
        assert!(err.to_string().contains("d.csv"), "{err}");
        // A row whose bytes are as they were is still the row that was checked.
        assert_eq!(d.row(1).unwrap().id, "b");
        // Rows that moved.
        std::fs::write(dir.path().join("d.csv"), "id,q\nxx,1\nb,2\nc,3\n").unwrap();
        assert!(d.row(2).is_err());
        assert_eq!(d.row(0).unwrap().id, "a");
    }
}
