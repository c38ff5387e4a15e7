//! Entering a network namespace from one thread: sockets made there stay in that namespace, so
//! the lab's responders and client run as threads of one process instead of a process each.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Arc;

/// A namespace made by `ip netns add NAME`, held open.
#[derive(Debug, Clone)]
pub struct Netns {
    pub name: String,
    file: Arc<File>,
}

impl Netns {
    pub fn open(name: &str) -> io::Result<Netns> {
        let path = PathBuf::from("/run/netns").join(name);
        Ok(Netns { name: name.to_string(), file: Arc::new(File::open(path)?) })
    }

    /// Move the calling thread into this namespace (the rest of the process stays where it is).
    pub fn enter(&self) -> io::Result<()> {
        // SAFETY: setns(2) on a descriptor this value keeps open; it changes only the calling
        // thread's network namespace and touches no memory.
        let rc = unsafe { libc::setns(self.file.as_raw_fd(), libc::CLONE_NEWNET) };
        if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
    }

    /// Run `f` on a new thread inside this namespace and wait for it.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
        let ns = self.clone();
        std::thread::spawn(move || {
            ns.enter()?;
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("a lab thread panicked")))
    }
}
