//! The state directory's files, opened so that nobody else can steer root's reads and writes.
//!
//! The directory is opened once, without following a symbolic link, and must belong to root or
//! to the user running lvsync and be writable by nobody else; every file in it is then opened
//! relative to that open directory with `O_NOFOLLOW`, checked after opening (a regular file,
//! the right owner), and created with mode 0600 whatever the umask. A file is replaced by
//! writing a fresh temporary file, syncing it, renaming it over the old one and syncing the
//! directory: a reader sees the old file or the new one, never half of one, and a crash after
//! the rename keeps the new one.

use std::ffi::CString;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::Error;

/// Mode of every file lvsync creates in the state directory, and of the directory itself.
const FILE_MODE: u32 = 0o600;
const DIR_MODE: u32 = 0o700;

/// An open state directory.
#[derive(Debug)]
pub struct Dir {
    path: PathBuf,
    fd: File,
}

/// Why a path in the state directory is refused, for [`Error::Unsafe`].
fn unsafe_path(path: &Path, why: impl Into<String>) -> Error {
    Error::Unsafe { path: path.to_path_buf(), why: why.into() }
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Root's files are trusted by everyone; otherwise only the user's own.
fn check_owner(path: &Path, meta: &fs::Metadata) -> Result<(), Error> {
    let uid = meta.uid();
    if uid == 0 || uid == euid() {
        return Ok(());
    }
    Err(unsafe_path(
        path,
        format!("it belongs to uid `{uid}`, not to root or to the user running lvsync (uid {})", euid()),
    ))
}

fn c_name(name: &str) -> CString {
    // Names are the module's own constants, without NUL bytes.
    CString::new(name).unwrap_or_default()
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

fn open_at(dir: Option<&File>, name: &CString, flags: libc::c_int) -> io::Result<File> {
    let base = dir.map_or(libc::AT_FDCWD, AsRawFd::as_raw_fd);
    let flags = flags | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: `name` is a valid C string; the mode argument is read only with O_CREAT.
    let fd = unsafe { libc::openat(base, name.as_ptr(), flags, FILE_MODE) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// A symbolic link where a file or directory was expected shows as ELOOP (or ENOTDIR for a
/// link to a file where a directory was expected) under O_NOFOLLOW.
fn is_link(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

impl Dir {
    /// Open the state directory; `None` when it does not exist and `create` is false.
    pub fn open(path: &Path, create: bool) -> Result<Option<Dir>, Error> {
        if create && fs::symlink_metadata(path).is_err() {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent).map_err(|source| Error::CreateDir { path: path.to_path_buf(), source })?;
            }
            match fs::DirBuilder::new().mode(DIR_MODE).create(path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(source) => return Err(Error::CreateDir { path: path.to_path_buf(), source }),
            }
        }
        let name = c_path(path).map_err(|source| Error::OpenDir { path: path.to_path_buf(), source })?;
        let fd = match open_at(None, &name, libc::O_RDONLY | libc::O_DIRECTORY) {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::NotFound && !create => return Ok(None),
            Err(_) if is_link(path) => {
                return Err(unsafe_path(path, "it is a symbolic link; give `--state-dir` the directory it points to"));
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
                return Err(unsafe_path(path, "it is not a directory"));
            }
            Err(source) => return Err(Error::OpenDir { path: path.to_path_buf(), source }),
        };
        let meta = fd.metadata().map_err(|source| Error::OpenDir { path: path.to_path_buf(), source })?;
        check_owner(path, &meta)?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(unsafe_path(
                path,
                format!(
                    "other users can write to it (mode `{mode:04o}`), so they could replace lvsync's files; run `chmod go-w {}`",
                    path.display()
                ),
            ));
        }
        Ok(Some(Dir { path: path.to_path_buf(), fd }))
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Open `name` (created 0600 if `create`), refusing a link, a non-regular file or a file of
    /// another owner. `None` when it does not exist and is not to be created.
    fn open_file(&self, name: &str, flags: libc::c_int) -> Result<Option<File>, (PathBuf, io::Error)> {
        let path = self.join(name);
        // O_NONBLOCK: a FIFO planted under the name must not hang the open.
        let file = match open_at(Some(&self.fd), &c_name(name), flags | libc::O_NONBLOCK) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound && flags & libc::O_CREAT == 0 => return Ok(None),
            Err(e) => return Err((path, e)),
        };
        Ok(Some(file))
    }

    fn check_file(&self, name: &str, file: &File) -> Result<(), Error> {
        let path = self.join(name);
        let meta = file.metadata().map_err(|source| Error::Read { path: path.clone(), source })?;
        if !meta.file_type().is_file() {
            return Err(unsafe_path(&path, "it is not a regular file; remove it"));
        }
        check_owner(&path, &meta)
    }

    fn refused_or(&self, name: &str, e: io::Error, or: impl FnOnce(PathBuf, io::Error) -> Error) -> Error {
        let path = self.join(name);
        if e.raw_os_error() == Some(libc::ELOOP) || is_link(&path) {
            return unsafe_path(&path, "it is a symbolic link; remove it (lvsync never writes through a link)");
        }
        or(path, e)
    }

    /// The lock file, created if needed.
    pub fn lock_file(&self, name: &str) -> Result<File, Error> {
        let file = self
            .open_file(name, libc::O_RDWR | libc::O_CREAT)
            .map_err(|(_, e)| self.refused_or(name, e, |path, source| Error::Lock { path, source }))?
            .ok_or_else(|| Error::Lock { path: self.join(name), source: io::ErrorKind::NotFound.into() })?;
        self.check_file(name, &file)?;
        Ok(file)
    }

    /// The whole content of `name`, refusing more than `cap` bytes; `None` when it is missing.
    pub fn read(&self, name: &str, cap: u64) -> Result<Option<Vec<u8>>, Error> {
        let Some(file) = self
            .open_file(name, libc::O_RDONLY)
            .map_err(|(_, e)| self.refused_or(name, e, |path, source| Error::Read { path, source }))?
        else {
            return Ok(None);
        };
        self.check_file(name, &file)?;
        let path = self.join(name);
        let mut bytes = Vec::new();
        file.take(cap + 1).read_to_end(&mut bytes).map_err(|source| Error::Read { path: path.clone(), source })?;
        if bytes.len() as u64 > cap {
            return Err(Error::Damaged { path, detail: format!("larger than {cap} bytes") });
        }
        Ok(Some(bytes))
    }

    /// Replace `name` with `bytes` atomically and durably, through the temporary file `tmp`.
    pub fn replace(&self, name: &str, tmp: &str, bytes: &[u8]) -> Result<(), Error> {
        self.replace_with(name, tmp, |file| file.write_all(bytes))
    }

    /// [`Dir::replace`] with the content written by `write`, streamed: a large record is never
    /// held whole in memory.
    pub fn replace_with(
        &self,
        name: &str,
        tmp: &str,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), Error> {
        let write_err = |source| Error::Write { path: self.join(name), source };
        // A leftover temporary file (a crash, or something planted) is removed, never written
        // through: unlinking a link removes the link.
        self.unlink(tmp).map_err(write_err)?;
        let mut file = self
            .open_file(tmp, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL)
            .map_err(|(_, e)| self.refused_or(tmp, e, |path, source| Error::Write { path, source }))?
            .ok_or_else(|| write_err(io::ErrorKind::NotFound.into()))?;
        // The mode given at creation was already cut by the umask; this makes it exactly 0600.
        file.set_permissions(fs::Permissions::from_mode(FILE_MODE)).map_err(write_err)?;
        let mut out = io::BufWriter::new(&mut file);
        write(&mut out).and_then(|()| out.flush()).map_err(write_err)?;
        drop(out);
        file.sync_all().map_err(write_err)?;
        drop(file);
        self.rename(tmp, name).map_err(write_err)?;
        self.fd.sync_all().map_err(write_err)
    }

    pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let (from, to) = (c_name(from), c_name(to));
        let fd = self.fd.as_raw_fd();
        // SAFETY: both names are valid C strings, relative to the same open directory.
        if unsafe { libc::renameat(fd, from.as_ptr(), fd, to.as_ptr()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn unlink(&self, name: &str) -> io::Result<()> {
        let name = c_name(name);
        // SAFETY: a valid C string relative to the open directory.
        if unsafe { libc::unlinkat(self.fd.as_raw_fd(), name.as_ptr(), 0) } < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::NotFound {
                return Err(e);
            }
        }
        Ok(())
    }
}
