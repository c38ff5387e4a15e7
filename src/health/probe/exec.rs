//! A program run without a shell; exit status 0 passes. Dropping the probe (its timeout) kills
//! the program.

use std::net::IpAddr;
use std::process::Stdio;

use tokio::process::Command;

use super::ProbeError;
use crate::health::spec::Exec;

pub async fn run(e: &Exec, address: IpAddr, port: u16) -> Result<(), ProbeError> {
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
    let status = child.wait().await.map_err(|source| ProbeError::Spawn { program: program.clone(), source })?;
    if status.success() {
        return Ok(());
    }
    Err(ProbeError::Exit { program: program.clone(), status: status.to_string() })
}
