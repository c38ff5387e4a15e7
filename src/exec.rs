//! The one place lvsync (the firewall, the lab) runs an external command to completion:
//! arguments as a list (never a shell), input on stdin, stdout and stderr captured, the exit
//! status checked, the command line in every error.

use std::io::{self, Write};
use std::process::{Command, ExitStatus, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`{command}`: {program} not found; {}", install_hint(.program))]
    NotFound {
        command: String,
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("`{command}` could not be run")]
    Spawn {
        command: String,
        #[source]
        source: io::Error,
    },
    #[error("`{command}` failed ({status}): {}", message(.stderr))]
    Failed { command: String, status: ExitStatus, stderr: String },
}

impl Error {
    /// The command line, as shown in errors.
    pub fn command(&self) -> &str {
        match self {
            Error::NotFound { command, .. } | Error::Spawn { command, .. } | Error::Failed { command, .. } => command,
        }
    }
}

/// What to do about a program that is not installed.
fn install_hint(program: &str) -> &'static str {
    let name = program.rsplit('/').next().unwrap_or(program);
    if name.contains("tables") {
        "install the Debian package `iptables` or pass `--iptables` a command that exists"
    } else if name == "ip" {
        "install the Debian package `iproute2`"
    } else if name == "keepalived" {
        "install the Debian package `keepalived`"
    } else if name == "sysctl" {
        "install the Debian package `procps`"
    } else {
        "install it or put it on PATH"
    }
}

/// A command's stderr on one line, without iptables' usage hint (`Try \`iptables -h' ...`).
pub fn message(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("Try `")).collect();
    if lines.is_empty() { "(no message)".to_string() } else { lines.join("; ") }
}

/// What a successful command printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

/// `program args...` as one line for people; not meant to be pasted into a shell.
pub fn command_line(program: &str, args: &[&str]) -> String {
    std::iter::once(program).chain(args.iter().copied()).collect::<Vec<_>>().join(" ")
}

/// Whether `program` would be found by [`run`]: a path that exists, or a name on `PATH`.
pub fn installed(program: &str) -> bool {
    if program.contains('/') {
        return std::path::Path::new(program).is_file();
    }
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Runs `program` with `args`, feeding `stdin` if given. A non-zero exit is an error carrying
/// the command's stderr. Messages are requested in the C locale so that they can be recognised.
pub fn run(program: &str, args: &[&str], stdin: Option<&str>) -> Result<Output, Error> {
    let command = command_line(program, args);
    tracing::debug!(command = %command, "running");
    let mut child = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => {
                Error::NotFound { command: command.clone(), program: program.to_string(), source }
            }
            _ => Error::Spawn { command: command.clone(), source },
        })?;
    // Written from a thread: a child that fills its stderr pipe before reading all of its input
    // would otherwise deadlock against us.
    let writer = match (stdin, child.stdin.take()) {
        (Some(input), Some(mut pipe)) => {
            let input = input.to_string();
            Some(std::thread::spawn(move || pipe.write_all(input.as_bytes())))
        }
        _ => None,
    };
    let output = child.wait_with_output().map_err(|source| Error::Spawn { command: command.clone(), source })?;
    let written = writer.map(|w| w.join());
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        return Err(Error::Failed { command, status: output.status, stderr });
    }
    match written {
        Some(Ok(Err(source))) => return Err(Error::Spawn { command, source }),
        Some(Err(_)) => {
            return Err(Error::Spawn { command, source: io::Error::other("the thread writing its input panicked") });
        }
        _ => {}
    }
    Ok(Output { stdout, stderr })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_stdin_and_captures_stdout() {
        let out = run("cat", &[], Some("line one\nline two\n")).unwrap();
        assert_eq!(out.stdout, "line one\nline two\n");
    }

    #[test]
    fn arguments_are_not_interpreted_by_a_shell() {
        let out = run("echo", &["$HOME; echo injected"], None).unwrap();
        assert_eq!(out.stdout, "$HOME; echo injected\n");
    }

    #[test]
    fn failure_carries_the_command_line_and_stderr() {
        let err = run("sh", &["-c", "echo oops >&2; echo; echo \"Try \\`x -h'\" >&2; echo more >&2; exit 3"], None)
            .unwrap_err();
        assert!(matches!(&err, Error::Failed { stderr, .. } if stderr.starts_with("oops\n")), "{err:?}");
        assert!(err.to_string().starts_with("`sh -c echo oops"), "{err}");
        assert!(err.to_string().ends_with("` failed (exit status: 3): oops; more"), "{err}");
    }

    #[test]
    fn missing_program_names_the_package() {
        let err = run("lvsync-no-such-iptables-save", &["-t", "filter"], None).unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        assert!(err.to_string().contains("install the Debian package `iptables`"), "{err}");
    }
}
