//! The command line: argument parsing and the commands, over the library.

/// Run the command line; returns the process exit status.
pub fn main() -> i32 {
    0
}
