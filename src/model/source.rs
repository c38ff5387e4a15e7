//! Reading a desired-state file from disk: only a regular file, at most [`MAX_FILE_BYTES`],
//! valid UTF-8. A FIFO or a device is refused before anything is read from it, so no command
//! can hang on one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The largest file lvsync reads: 256 MiB. A generated file of 20,000 services with 8 real
/// servers each is about 9 MB, so this is room for about 500,000 services; the limit is there
/// so that a wrong path (a disk image, a log) fails at once instead of filling memory.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is {kind}, not a regular file; give the path of the YAML file itself")]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error(
        "{path} is {size} bytes, over the limit of {limit} bytes (256 MiB) for a desired-state file; \
         check that this is the right file (a file of 20,000 services is about 9 MB)",
        limit = MAX_FILE_BYTES
    )]
    TooLarge { path: PathBuf, size: u64 },
    #[error(
        "{path}:{line}:{column}: the file is not UTF-8 text (byte {byte:#04x} at offset {offset}); \
         save it as UTF-8"
    )]
    NotUtf8 { path: PathBuf, line: usize, column: usize, byte: u8, offset: usize },
}

/// The text of the desired-state file at `path`.
pub fn read_file(path: &Path) -> Result<String, ReadError> {
    let io = |source| ReadError::Io { path: path.to_path_buf(), source };
    // Look before opening: opening a FIFO for reading waits for a writer, and opening a device
    // may have effects of its own.
    check_kind(path, &fs::metadata(path).map_err(io)?)?;
    // Non-blocking: if the path was swapped for a FIFO since, the open does not wait.
    let mut file =
        OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    check_kind(path, &meta)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge { path: path.to_path_buf(), size: meta.len() });
    }
    let bytes = read_capped(&mut file, meta.len()).map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        // It grew while being read.
        return Err(ReadError::TooLarge { path: path.to_path_buf(), size: bytes.len() as u64 });
    }
    text(path, bytes)
}

fn check_kind(path: &Path, meta: &fs::Metadata) -> Result<(), ReadError> {
    let t = meta.file_type();
    let kind = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    Err(ReadError::NotRegular { path: path.to_path_buf(), kind })
}

/// At most one byte over the limit, so a file that grows while read is noticed without reading
/// all of it.
fn read_capped(file: &mut File, expected: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0).saturating_add(1));
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The bytes as text, or where the first byte that is not UTF-8 sits.
pub fn text(path: &Path, bytes: Vec<u8>) -> Result<String, ReadError> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let offset = e.utf8_error().valid_up_to();
        let before = &bytes[..offset];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        // Valid UTF-8 up to `offset`: count characters, not bytes.
        let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
        ReadError::NotUtf8 { path: path.to_path_buf(), line, column, byte: bytes[offset], offset }
    })
}
