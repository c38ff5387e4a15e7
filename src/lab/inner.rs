//! The part of the lab that runs inside the kernel: build the network from the file, start the
//! responders, apply the file with lvsync itself, send the requests.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::Error;
use super::client::{self, Held};
use super::kill::Kill;
use super::kill_run;
use super::netns::Netns;
use super::report::{LabReport, ServiceResult};
use super::responder::{self, Responder};
use super::topology::{Step, Target, Topology};
use crate::model::Config;
use crate::state::SocketText;

/// Where `lvsync apply` keeps its state inside the kernel (a tmpfs there).
pub(super) const STATE_DIR: &str = "/run/lvsync-lab";
/// The UML kernel has no nf_tables: the legacy family is the one that works there.
pub(super) const IPTABLES: &str = "iptables-legacy";

/// A built lab: the network exists and every responder answers.
#[derive(Debug)]
pub struct Lab {
    pub topology: Topology,
    exe: PathBuf,
    client: Netns,
    responders: Vec<Responder>,
}

impl Lab {
    /// Build the network `config` (read from `file`) needs, set up each real server with
    /// `lvsync --role real-server apply FILE` in its namespace, and start its responders. `exe`
    /// is the lvsync binary. Only inside User-Mode Linux: it changes the network it runs in, so
    /// anywhere else it refuses.
    pub fn build(config: &Config, file: &Path, exe: &Path) -> Result<Lab, Error> {
        let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        if !cpu.lines().any(|l| l.starts_with("vendor_id") && l.ends_with("User Mode Linux")) {
            return Err(Error::NotInKernel);
        }
        let topology = Topology::derive(config);
        for step in topology.steps() {
            run(&step).map_err(|detail| Error::Build { step: step.to_string(), detail })?;
        }
        for real in &topology.reals {
            let state_dir = format!("{STATE_DIR}/{}", real.netns);
            let args = ["netns", "exec", &real.netns].map(String::from);
            let lvsync = ["--state-dir", &state_dir, "--role", "real-server", "apply"].map(String::from);
            run_lvsync(exe, Some(&args), &lvsync, file)?;
        }
        let open = |name: &str| Netns::open(name).map_err(|source| Error::Netns { name: name.to_string(), source });
        let mut responders = Vec::new();
        for real in &topology.reals {
            let ns = open(&real.netns)?;
            let listeners: Vec<_> = real.listeners.iter().copied().collect();
            let r = responder::start(&ns, &listeners)
                .map_err(|source| Error::Responder { real: real.address.to_string(), source })?;
            responders.push(r);
        }
        let client = open(&topology.client.netns)?;
        Ok(Lab { topology, exe: exe.to_path_buf(), client, responders })
    }

    /// `lvsync apply FILE` on the director, firewall included; returns what it printed.
    pub fn apply(&self, file: &Path) -> Result<String, Error> {
        // From the file's directory, so that what apply says names the file as the user knows it.
        let args = ["--state-dir", STATE_DIR, "--iptables", IPTABLES, "apply"].map(String::from);
        run_lvsync(&self.exe, None, &args, file)
    }

    /// Send `requests` new connections or datagrams to `target` and count who answered.
    pub fn send(&self, target: &Target, requests: u32) -> ServiceResult {
        let tally = client::send(&self.client, target, requests);
        let mut by_real: std::collections::BTreeMap<String, u32> =
            target.reals.iter().map(|r| (r.clone(), 0)).collect();
        for (real, n) in &tally.by_real {
            *by_real.entry(real.clone()).or_default() += n;
        }
        ServiceResult {
            name: target.name.clone(),
            target: format!("{}/{}", target.protocol, SocketText(target.vip, target.port)),
            requests,
            failed: tally.failed(),
            by_real,
            failures: tally.failures,
        }
    }

    /// Open one TCP connection to `target` and keep it.
    pub fn hold(&self, target: &Target) -> std::io::Result<Held> {
        Held::open(&self.client, target)
    }

    /// Stop the responder of the real server `address[:port]` (every port without one): its
    /// sockets close. Returns how many closed.
    pub fn stop_responder(&mut self, address: std::net::IpAddr, port: Option<u16>) -> usize {
        self.responders.iter_mut().map(|r| r.stop(address, port)).sum()
    }

    /// One request to `target`: the real server that answered.
    pub fn request(&self, target: &Target) -> std::io::Result<String> {
        client::one(&self.client, target)
    }

    pub fn target(&self, name: &str) -> Option<&Target> {
        self.topology.targets.iter().find(|t| t.name == name)
    }
}

/// The whole run inside the kernel, with progress on stderr.
pub fn run_inside(
    config: &Config,
    file: &Path,
    shown_as: &str,
    requests: u32,
    exe: &Path,
    kill: Option<Kill>,
) -> Result<LabReport, Error> {
    let topology = Topology::derive(config);
    eprintln!(
        "building the lab: a director, {} real server{} (each set up by `lvsync --role real-server apply`), a client",
        topology.reals.len(),
        if topology.reals.len() == 1 { "" } else { "s" }
    );
    let mut lab = Lab::build(config, file, exe)?;
    eprintln!("applying {shown_as} with `lvsync apply` (firewall with {IPTABLES})");
    let said = lab.apply(file)?;
    for line in said.lines().filter(|l| !l.trim().is_empty()) {
        eprintln!("  {line}");
    }
    let mut report = LabReport { services: Vec::new(), notes: lab.topology.notes.clone(), failover: None, kill: None };
    let killing = match kill {
        Some(k) => {
            let hits = k.hits(config)?;
            eprintln!("starting `lvsync watch` on the director: its health checks decide");
            Some((k, hits, kill_run::Watch::start(exe, file)?))
        }
        None => None,
    };
    for target in lab.topology.targets.clone() {
        let target = &target;
        if let Some((k, hits, watch)) = &killing
            && report.kill.is_none()
            && hits.iter().any(|h| h.service == target.name)
        {
            eprintln!(
                "sending {requests} connections to {} ({}); the responder of {k} stops after {}",
                target.name,
                SocketText(target.vip, target.port),
                requests / 2
            );
            let (result, found) = kill_run::send(&mut lab, target, requests, *k, hits, watch)?;
            eprintln!("  {k} was out of the director {} ms after its responder stopped", found.detected_after_ms);
            report.services.push(result);
            report.kill = Some(found);
            continue;
        }
        eprintln!(
            "sending {requests} {} {} to {} ({})",
            target.protocol,
            if target.protocol == crate::state::Protocol::Udp { "datagrams" } else { "connections" },
            target.name,
            SocketText(target.vip, target.port)
        );
        report.services.push(lab.send(target, requests));
    }
    Ok(report)
}

/// `[ip netns exec NS] lvsync ARGS FILE`, from the file's directory, so that what it says names
/// the file as the user knows it; returns what it printed.
fn run_lvsync(exe: &Path, netns: Option<&[String; 3]>, args: &[String], file: &Path) -> Result<String, Error> {
    let (dir, name) = split(file);
    let mut command = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(ns).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    let out = command
        .args(args)
        .arg(name)
        .current_dir(dir)
        .output()
        .map_err(|source| Error::Exe { path: exe.to_path_buf(), source })?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if out.status.success() { Ok(text) } else { Err(Error::Apply { status: out.status.to_string(), output: text }) }
}

/// The file's directory and name, to run lvsync from there.
pub(super) fn split(file: &Path) -> (&Path, &std::ffi::OsStr) {
    match (file.parent(), file.file_name()) {
        (Some(dir), Some(name)) if !dir.as_os_str().is_empty() => (dir, name),
        _ => (Path::new("."), file.as_os_str()),
    }
}

fn run(step: &Step) -> Result<(), String> {
    let (argv, input) = step.command();
    let (prog, args) = argv.split_first().ok_or("empty command")?;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    crate::exec::run(prog, &args, Some(&input)).map(|_| ()).map_err(|e| crate::error_chain::error_chain(&e))
}
