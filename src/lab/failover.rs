//! `lvsync lab FILE --failover`, inside the kernel: every director of `ha.nodes` in its own
//! namespace on one bridge with the real servers and a client, each applied by `lvsync apply
//! --node NAME` and running keepalived (`--vrrp`) with the configuration lvsync wrote. Half the
//! requests go to the first TCP service, a long connection is opened, the master's link goes
//! down, then the other half; the report says how long the VIP took to move, how many requests
//! failed, and whether the long connection survived (IPVS connection sync).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Error;
use super::client::{self, Held};
use super::netns::Netns;
use super::report::{LabReport, ServiceResult};
use super::responder;
use super::topology::{Listener, Target};
use crate::model::Config;
use crate::state::{Forward, HaNode, Protocol, ServiceKey, SocketText};

const STATE_DIR: &str = "/run/lvsync-lab";
const IPTABLES: &str = "iptables-legacy";
const CLIENT: &str = "lab-client";
/// How long keepalived may take to put the VIP somewhere.
const VIP_LIMIT: Duration = Duration::from_secs(20);
/// The sync master sends its buffer when full or 2 s old: the long connection is older.
const SYNC_WAIT: Duration = Duration::from_secs(3);

/// SPEC's `"failover"` object of the lab report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failover {
    /// From the master's link going down to the VIP on another director; `None`: it never moved.
    pub seconds: Option<f64>,
    pub failed_requests: u32,
    pub connections_kept: u32,
    pub connections_opened: u32,
}

impl Failover {
    pub fn passed(&self) -> bool {
        self.seconds.is_some() && self.connections_opened > 0 && self.connections_kept == self.connections_opened
    }
}

fn fail(what: impl Into<String>) -> Error {
    Error::Failover(what.into())
}

fn sh(cmd: &str) -> Result<String, Error> {
    crate::exec::run("sh", &["-c", cmd], None).map(|o| o.stdout).map_err(|e| fail(crate::error_chain::error_chain(&e)))
}

/// The one /24 every address of the lab lives in: the first node's.
fn subnet(nodes: &[HaNode]) -> Result<[u8; 3], Error> {
    match nodes.first().map(|n| n.address) {
        Some(IpAddr::V4(a)) => Ok([a.octets()[0], a.octets()[1], a.octets()[2]]),
        _ => Err(fail("the failover lab needs IPv4 node addresses in `ha.nodes`")),
    }
}

fn in_subnet(a: IpAddr, net: [u8; 3]) -> bool {
    matches!(a, IpAddr::V4(v) if v.octets()[..3] == net)
}

pub fn run(config: &Config, file: &Path, shown_as: &str, requests: u32, exe: &Path) -> Result<LabReport, Error> {
    let ha = config.ha.as_ref().ok_or_else(|| fail("`--failover` needs `ha` in the file"))?;
    let net = subnet(&ha.nodes)?;
    let ifname = ha.interface.as_str();
    if let Some(sync) = config.sync.as_ref().and_then(|s| s.values().next())
        && sync.interface != ifname
    {
        return Err(fail(format!(
            "the failover lab puts each director on one link, `{ifname}` (ha.interface); ipvs.sync.interface is `{}`",
            sync.interface
        )));
    }
    let spec = config
        .services
        .iter()
        .find(|s| matches!(s.key, ServiceKey::Addr { protocol: Protocol::Tcp, .. }))
        .ok_or_else(|| fail("the failover lab needs a TCP service with a VIP"))?;
    let ServiceKey::Addr { vip, port, .. } = spec.key else { return Err(fail("no VIP")) };
    let reals: Vec<(IpAddr, u16)> = spec.service.reals.keys().map(|k| (k.address, k.port)).collect();
    for (a, _) in &reals {
        if !in_subnet(*a, net) {
            return Err(fail(format!(
                "real server {a} is not in the directors' subnet (the failover lab is one link)"
            )));
        }
    }
    if spec.service.reals.values().any(|r| r.forward != Forward::Dr) {
        return Err(fail("the failover lab runs `forward: dr` services only"));
    }
    if !in_subnet(vip, net) {
        return Err(fail(format!("VIP {vip} is not in the directors' subnet (the failover lab is one link)")));
    }

    // The network: one bridge, a namespace per host.
    let client_addr = (50..250u8)
        .map(|i| IpAddr::V4(Ipv4Addr::new(net[0], net[1], net[2], i)))
        .find(|a| *a != vip && !ha.nodes.iter().any(|n| n.address == *a) && !reals.iter().any(|(r, _)| r == a))
        .ok_or_else(|| fail("no free address for the client"))?;
    eprintln!("building the failover lab: {} directors, {} real servers, a client", ha.nodes.len(), reals.len());
    sh("ip link add lab-br type bridge && ip link set lab-br up")?;
    let mut hosts: Vec<(String, IpAddr, &str)> = vec![(CLIENT.to_string(), client_addr, "eth0")];
    hosts.extend(ha.nodes.iter().map(|n| (format!("lab-{}", n.name), n.address, ifname)));
    let mut real_hosts = BTreeMap::new();
    for (i, (a, _)) in reals.iter().enumerate() {
        if let std::collections::btree_map::Entry::Vacant(e) = real_hosts.entry(*a) {
            e.insert(format!("lab-rs{}", i + 1));
            hosts.push((format!("lab-rs{}", i + 1), *a, "eth0"));
        }
    }
    for (i, (ns, addr, dev)) in hosts.iter().enumerate() {
        sh(&format!(
            "ip netns add {ns} && ip link add lab-v{i} type veth peer name {dev} netns {ns} \
             && ip link set lab-v{i} master lab-br up && ip -n {ns} link set lo up \
             && ip -n {ns} link set {dev} up && ip -n {ns} addr add {addr}/24 dev {dev}"
        ))?;
    }
    for (addr, ns) in &real_hosts {
        sh(&format!(
            "ip -n {ns} addr add {vip}/32 dev lo && ip netns exec {ns} sysctl -qw net.ipv4.conf.all.arp_ignore=1 \
             net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2"
        ))?;
        let listeners: Vec<Listener> = reals
            .iter()
            .filter(|(a, _)| a == addr)
            .map(|(a, p)| Listener {
                protocol: Protocol::Tcp,
                local: Ipv4Addr::UNSPECIFIED.into(),
                port: *p,
                identity: (*a, *p),
            })
            .collect();
        let netns = Netns::open(ns).map_err(|source| Error::Netns { name: ns.clone(), source })?;
        responder::start(&netns, &listeners).map_err(|source| Error::Responder { real: addr.to_string(), source })?;
    }

    // Each director: lvsync apply, then keepalived with what lvsync wrote.
    let mut keepaliveds = Vec::new();
    for node in &ha.nodes {
        let dir = PathBuf::from(STATE_DIR).join(&node.name);
        std::fs::create_dir_all(&dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
        eprintln!("applying {shown_as} on {} with `lvsync apply --node {}`", node.name, node.name);
        let out = Command::new("ip")
            .args(["netns", "exec", &format!("lab-{}", node.name)])
            .arg(exe)
            .args(["--node", &node.name, "--iptables", IPTABLES, "--state-dir"])
            .arg(dir.join("state"))
            .arg("--keepalived-conf")
            .arg(dir.join("keepalived.conf"))
            .arg("--keepalived-pid")
            .arg(dir.join("keepalived.pid"))
            .arg("apply")
            .arg(file)
            .output()
            .map_err(|source| Error::Exe { path: exe.to_path_buf(), source })?;
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            return Err(Error::Apply { status: out.status.to_string(), output: said });
        }
        for line in said.lines().filter(|l| !l.trim().is_empty()) {
            eprintln!("  {line}");
        }
        keepaliveds.push(keepalived(&node.name, &dir)?);
    }
    let outcome = exercise(ha.nodes.as_slice(), vip, port, ifname, &reals, requests);
    for k in &mut keepaliveds {
        let _ = k.kill();
        let _ = k.wait();
    }
    outcome
}

fn keepalived(node: &str, dir: &Path) -> Result<Child, Error> {
    Command::new("ip")
        .args(["netns", "exec", &format!("lab-{node}"), "keepalived", "--vrrp", "-f"])
        .arg(dir.join("keepalived.conf"))
        .arg("-p")
        .arg(dir.join("keepalived.pid"))
        .arg("-r")
        .arg(dir.join("vrrp.pid"))
        .args(["-l", "-D", "-n"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| fail(format!("cannot start keepalived on {node}: {e} (install the Debian package `keepalived`)")))
}

fn holder(nodes: &[HaNode], vip: IpAddr, ifname: &str) -> Option<String> {
    nodes.iter().map(|n| n.name.clone()).find(|name| {
        sh(&format!("ip -n lab-{name} -o addr show dev {ifname}")).is_ok_and(|o| o.contains(&format!(" {vip}/")))
    })
}

fn wait_holder(nodes: &[HaNode], vip: IpAddr, ifname: &str, not: Option<&str>) -> Option<(String, Duration)> {
    let start = Instant::now();
    while start.elapsed() < VIP_LIMIT {
        if let Some(h) = holder(nodes, vip, ifname).filter(|h| Some(h.as_str()) != not) {
            return Some((h, start.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

fn exercise(
    nodes: &[HaNode],
    vip: IpAddr,
    port: u16,
    ifname: &str,
    reals: &[(IpAddr, u16)],
    requests: u32,
) -> Result<LabReport, Error> {
    let (master, _) = wait_holder(nodes, vip, ifname, None)
        .ok_or_else(|| fail(format!("keepalived put VIP {vip} on no director within {VIP_LIMIT:?}")))?;
    eprintln!("the VIP {vip} is on {master}");
    let client = Netns::open(CLIENT).map_err(|source| Error::Netns { name: CLIENT.into(), source })?;
    let target = Target {
        name: "failover".into(),
        protocol: Protocol::Tcp,
        vip,
        port,
        reals: reals.iter().map(|(a, p)| SocketText(*a, *p).to_string()).collect(),
    };
    let first_half = requests / 2;
    eprintln!("sending {first_half} connections to {}", SocketText(vip, port));
    let before = client::send(&client, &target, first_half);
    let mut held = Held::open(&client, &target).ok();
    if let Some(h) = &mut held {
        for _ in 0..3 {
            let _ = h.ping();
        }
    }
    std::thread::sleep(SYNC_WAIT);
    eprintln!("setting {master}'s link down");
    sh(&format!("ip -n lab-{master} link set {ifname} down"))?;
    let moved = wait_holder(nodes, vip, ifname, Some(&master));
    match &moved {
        Some((to, t)) => eprintln!("the VIP moved to {to} in {:.1} s", t.as_secs_f64()),
        None => eprintln!("the VIP did not move within {VIP_LIMIT:?}"),
    }
    let kept = held.as_mut().is_some_and(|h| {
        let first = h.first.clone();
        (0..5).all(|_| h.ping().ok().as_deref() == Some(first.as_str()))
    });
    let rest = requests - first_half;
    eprintln!("sending {rest} connections to {}", SocketText(vip, port));
    let after = client::send(&client, &target, rest);
    let mut by_real: BTreeMap<String, u32> = target.reals.iter().map(|r| (r.clone(), 0)).collect();
    let mut failures = BTreeMap::new();
    for t in [&before, &after] {
        for (r, n) in &t.by_real {
            *by_real.entry(r.clone()).or_default() += n;
        }
        for (r, n) in &t.failures {
            *failures.entry(r.clone()).or_default() += n;
        }
    }
    let failed = before.failed() + after.failed();
    let failover = Failover {
        seconds: moved.map(|(_, t)| (t.as_secs_f64() * 10.0).round() / 10.0),
        failed_requests: failed,
        connections_kept: u32::from(kept),
        connections_opened: u32::from(held.is_some()),
    };
    let service = ServiceResult {
        name: "failover".into(),
        target: format!("tcp/{}", SocketText(vip, port)),
        requests,
        failed,
        by_real,
        failures,
    };
    Ok(LabReport { services: vec![service], notes: Vec::new(), failover: Some(failover), kill: None })
}
