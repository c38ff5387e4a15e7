//! Standard output that cannot panic. A reader that hangs up early (`lvsync validate ... | head
//! -1`) is not an error: writing stops and the command keeps its own exit status. Any other
//! failure to write (`lvsync schema > /dev/full`) is reported once, and a read-only command
//! then exits 1; a command that changed the kernel keeps the status of what it did.

use std::io::{self, BufWriter, Stdout, Write};

pub struct Out {
    inner: BufWriter<Stdout>,
    failed: Option<io::Error>,
}

/// Whether the command changed something before its report was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// `validate`, `plan`, `export`, `schema`: a lost output is a failed command.
    ReadOnly,
    /// `apply`: the kernel was changed as reported whether or not the report arrived.
    Applied,
}

impl Default for Out {
    fn default() -> Self {
        Out::new()
    }
}

impl Out {
    pub fn new() -> Out {
        Out { inner: BufWriter::with_capacity(64 * 1024, io::stdout()), failed: None }
    }

    /// Write `text`, unless an earlier write failed.
    pub fn text(&mut self, text: &str) {
        if self.failed.is_none()
            && let Err(e) = self.inner.write_all(text.as_bytes())
        {
            self.failed = Some(e);
        }
    }

    pub fn line(&mut self, text: &str) {
        self.text(text);
        self.text("\n");
    }

    /// Pretty JSON and a newline, straight to the buffer: a plan of a large director is
    /// megabytes.
    pub fn json(&mut self, value: &impl serde::Serialize) {
        if self.failed.is_some() {
            return;
        }
        if let Err(e) = serde_json::to_writer_pretty(&mut self.inner, value).map_err(io::Error::from) {
            self.failed = Some(e);
        }
        self.text("\n");
    }

    /// Flush, and turn the command's `status` into the process's exit status.
    pub fn finish(mut self, status: i32, done: Done) -> i32 {
        if self.failed.is_none()
            && let Err(e) = self.inner.flush()
        {
            self.failed = Some(e);
        }
        // Whatever is still buffered after a failure is dropped: no second attempt on drop.
        let (_, _) = self.inner.into_parts();
        outcome(self.failed.as_ref(), status, done)
    }
}

fn outcome(failed: Option<&io::Error>, status: i32, done: Done) -> i32 {
    match (failed, done) {
        (None, _) => status,
        (Some(e), _) if e.kind() == io::ErrorKind::BrokenPipe => status,
        (Some(e), Done::ReadOnly) => {
            eprintln!("error: cannot write the output to standard output: {e}");
            1
        }
        (Some(e), Done::Applied) => {
            eprintln!(
                "warning: the apply completed, but its report could not be written to standard output: {e}; run `lvsync plan` to see the state"
            );
            status
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_reader_keeps_the_status_and_other_failures_fail_read_only_commands() {
        let pipe = io::Error::from(io::ErrorKind::BrokenPipe);
        let full = io::Error::from_raw_os_error(libc::ENOSPC);
        assert_eq!(outcome(None, 2, Done::ReadOnly), 2);
        assert_eq!(outcome(Some(&pipe), 1, Done::ReadOnly), 1);
        assert_eq!(outcome(Some(&pipe), 0, Done::Applied), 0);
        assert_eq!(outcome(Some(&full), 0, Done::ReadOnly), 1);
        assert_eq!(outcome(Some(&full), 0, Done::Applied), 0);
    }
}
