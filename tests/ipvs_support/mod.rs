//! Shared by the IPVS kernel tests: shell helpers, the director's dummy network, and one rich
//! table described twice, as lvsync state and as the ipvsadm commands that build the same.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use lvsync::plan::{Change, IpvsChange};
use lvsync::state::{
    Family, Forward, Netmask, Persistence, RealKey, RealServer, SchedFlags, Scheduler, Service, ServiceAttrs,
    ServiceKey, State, Timeouts, Tunnel, TunnelChecksum, TunnelType,
};

pub fn scratch() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

/// Run a shell command; it must succeed. Returns its stdout.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The table as `ipvsadm-save -n` prints it, lines sorted (the kernel lists services in hash
/// order and real servers newest first; every line names its service, so sorting loses nothing).
pub fn ipvsadm_save() -> Vec<String> {
    let mut lines: Vec<String> = sh("ipvsadm-save -n").lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// The director's own addresses, so that real servers in 10.1.0.0/16 and 2001:db8:1::/64 are
/// routable (the kernel refuses unroutable ones). A dummy device drops what is sent to it.
pub fn director_network() {
    sh("ip link add lvs0 type dummy && ip link set lvs0 up \
        && ip addr add 10.1.0.254/16 dev lvs0 \
        && ip -6 addr add 2001:db8:1::fe/64 dev lvs0 nodad");
}

fn svc(s: &str) -> ServiceKey {
    s.parse().unwrap()
}

fn real(a: &str, port: u16) -> RealKey {
    RealKey { address: a.parse().unwrap(), port }
}

fn rs(weight: u32, forward: Forward) -> RealServer {
    RealServer { weight, forward, upper_threshold: 0, lower_threshold: 0 }
}

/// Every field of the format: both families, fwmark services of both families, every forward
/// method, ipip/gue/gre tunnels with each checksum, thresholds, scheduler flags, persistence
/// with an IPv4 mask, an IPv6 prefix and an engine, one-packet, port 0, mixed families, timeouts.
pub fn rich_state() -> State {
    let mut services = BTreeMap::new();
    let mut add = |key: ServiceKey, attrs: ServiceAttrs, reals: Vec<(RealKey, RealServer)>| {
        services.insert(key, Service { name: None, attrs, reals: reals.into_iter().collect() });
    };
    add(
        svc("tcp/10.1.0.1:80"),
        ServiceAttrs { scheduler: Scheduler::Rr, ..ServiceAttrs::default() },
        vec![
            (real("10.1.1.1", 80), rs(1, Forward::Dr)),
            (
                real("10.1.1.2", 8080),
                RealServer { weight: 5, forward: Forward::Nat, upper_threshold: 100, lower_threshold: 10 },
            ),
        ],
    );
    add(
        svc("udp/10.1.0.2:53"),
        ServiceAttrs {
            scheduler: Scheduler::Wlc,
            sched_flags: SchedFlags::default(),
            persistence: Some(Persistence {
                timeout: 600,
                netmask: Netmask::V4("255.255.255.0".parse().unwrap()),
                engine: Some("sip".into()),
            }),
            one_packet: true,
        },
        vec![(real("10.1.1.3", 53), rs(2, Forward::Tun(Tunnel::default())))],
    );
    add(
        svc("tcp/[2001:db8:1::1]:443"),
        ServiceAttrs {
            scheduler: Scheduler::Sh,
            sched_flags: SchedFlags(SchedFlags::FLAG_1 | SchedFlags::FLAG_2),
            persistence: Some(Persistence { timeout: 300, netmask: Netmask::V6(64), engine: None }),
            one_packet: false,
        },
        vec![
            (real("2001:db8:1::10", 443), rs(3, Forward::Dr)),
            (
                real("2001:db8:1::11", 443),
                rs(4, Forward::Tun(Tunnel { kind: TunnelType::Gue { port: 6080 }, checksum: TunnelChecksum::Remcsum })),
            ),
        ],
    );
    add(
        ServiceKey::Fwmark { family: Family::Ipv4, mark: 42 },
        ServiceAttrs { scheduler: Scheduler::Mh, sched_flags: SchedFlags(SchedFlags::FLAG_1), ..Default::default() },
        vec![
            (real("10.1.1.4", 0), rs(1, Forward::Dr)),
            (
                real("10.1.1.5", 0),
                rs(7, Forward::Tun(Tunnel { kind: TunnelType::Gre, checksum: TunnelChecksum::Csum })),
            ),
        ],
    );
    add(
        ServiceKey::Fwmark { family: Family::Ipv6, mark: 7 },
        ServiceAttrs { scheduler: Scheduler::Lc, ..Default::default() },
        vec![(real("2001:db8:1::12", 0), rs(0, Forward::Dr))],
    );
    add(
        svc("sctp/10.1.0.3:5000"),
        ServiceAttrs { scheduler: Scheduler::Wrr, ..Default::default() },
        vec![(real("2001:db8:1::13", 5000), rs(2, Forward::Tun(Tunnel::default())))],
    );
    add(
        svc("tcp/10.1.0.4:0"),
        ServiceAttrs {
            scheduler: Scheduler::Rr,
            persistence: Some(Persistence { timeout: 120, netmask: Netmask::host(Family::Ipv4), engine: None }),
            ..Default::default()
        },
        vec![],
    );
    State { services, timeouts: Timeouts { tcp: Some(1000), tcp_fin: Some(100), udp: Some(200) }, ..State::default() }
}

/// The same table, built by ipvsadm.
pub const RICH_IPVSADM: &[&str] = &[
    "ipvsadm -A -t 10.1.0.1:80 -s rr",
    "ipvsadm -a -t 10.1.0.1:80 -r 10.1.1.1:80 -g -w 1",
    "ipvsadm -a -t 10.1.0.1:80 -r 10.1.1.2:8080 -m -w 5 -x 100 -y 10",
    "ipvsadm -A -u 10.1.0.2:53 -s wlc -p 600 -M 255.255.255.0 --pe sip -o",
    "ipvsadm -a -u 10.1.0.2:53 -r 10.1.1.3:53 -i -w 2",
    "ipvsadm -A -t [2001:db8:1::1]:443 -s sh -b sh-fallback,sh-port -p 300 -M 64",
    "ipvsadm -a -t [2001:db8:1::1]:443 -r [2001:db8:1::10]:443 -g -w 3",
    "ipvsadm -a -t [2001:db8:1::1]:443 -r [2001:db8:1::11]:443 -i --tun-type gue --tun-port 6080 --tun-remcsum -w 4",
    "ipvsadm -A -f 42 -s mh -b mh-fallback",
    "ipvsadm -a -f 42 -r 10.1.1.4 -g -w 1",
    "ipvsadm -a -f 42 -r 10.1.1.5 -i --tun-type gre --tun-csum -w 7",
    "ipvsadm -A -f 7 -6 -s lc",
    "ipvsadm -a -f 7 -6 -r 2001:db8:1::12 -g -w 0",
    "ipvsadm -A --sctp-service 10.1.0.3:5000 -s wrr",
    "ipvsadm -a --sctp-service 10.1.0.3:5000 -r [2001:db8:1::13]:5000 -i -w 2",
    "ipvsadm -A -t 10.1.0.4:0 -s rr -p 120",
    "ipvsadm --set 1000 100 200",
];

pub fn ipvsadm_build(cmds: &[&str]) {
    for c in cmds {
        sh(c);
    }
}

/// The changes that build `state` from an empty table, in apply order.
pub fn creations(state: &State) -> Vec<Change> {
    let mut out = Vec::new();
    for (key, s) in &state.services {
        out.push(Change::Ipvs(IpvsChange::CreateService {
            key: *key,
            name: s.name.clone(),
            attrs: Box::new(s.attrs.clone()),
        }));
    }
    for (key, s) in &state.services {
        for (rk, r) in &s.reals {
            out.push(Change::Ipvs(IpvsChange::CreateReal { service: *key, key: *rk, real: *r }));
        }
    }
    if state.timeouts != Timeouts::default() {
        out.push(Change::Ipvs(IpvsChange::SetTimeouts { before: Timeouts::default(), after: state.timeouts }));
    }
    out
}
