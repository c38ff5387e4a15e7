//! A program run without a shell; exit status 0 passes. At the timeout it is killed and reaped
//! (no zombie is left for later); dropping the probe kills it too.

use std::net::IpAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use super::ProbeError;
use crate::health::spec::Exec;

pub async fn run(e: &Exec, address: IpAddr, port: u16, timeout: Duration) -> Result<(), ProbeError> {
    let argv = e.argv(address, port);
    let Some((program, args)) = argv.split_first() else {
        return Err(ProbeError::Spawn { program: String::new(), source: std::io::ErrorKind::NotFound.into() });
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| ProbeError::Spawn { program: program.clone(), source })?;
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => status.map_err(|source| ProbeError::Spawn { program: program.clone(), source })?,
        Err(_) => {
            // `kill` sends SIGKILL and waits for the exit, so the program is reaped here.
            let _ = child.kill().await;
            return Err(ProbeError::Timeout(timeout));
        }
    };
    if status.success() {
        return Ok(());
    }
    Err(ProbeError::Exit { program: program.clone(), status: status.to_string() })
}
