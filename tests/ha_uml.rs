//! Two directors in User-Mode Linux, against keepalived itself: one bridge, namespaces for a
//! client, lb1, lb2, rs1 and rs2 (DR), examples/seed-ha.yaml applied by the real `lvsync` on both
//! directors, keepalived (`--vrrp`) running on both with the configuration lvsync wrote. The
//! VIP sits on the higher priority node; requests are balanced; lb1's link goes down, the VIP
//! moves, a TCP connection opened before keeps working (IPVS connection sync), new connections
//! are served; a changed file reloads keepalived and an unchanged one does not.

mod ipvs_support;
mod uml_support;

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use ipvs_support::*;
use lvsync::lab::topology::{Listener, Target};
use lvsync::lab::{Held, Netns, start_responders};
use lvsync::state::Protocol;

const VIP: &str = "192.168.2.110";

fn seed() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed-ha.yaml")).unwrap()
}

struct Director {
    name: &'static str,
    dir: PathBuf,
}

impl Director {
    fn new(name: &'static str) -> Director {
        let dir = scratch().join(format!("ha-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Director { name, dir }
    }

    fn conf(&self) -> PathBuf {
        self.dir.join("keepalived.conf")
    }

    fn pid(&self) -> PathBuf {
        self.dir.join("keepalived.pid")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("keepalived.log")
    }

    fn lvsync(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", self.name, env!("CARGO_BIN_EXE_lvsync")])
            .args(args)
            .args(["--node", self.name, "--iptables", "iptables-legacy"])
            .arg("--state-dir")
            .arg(self.dir.join("state"))
            .arg("--keepalived-conf")
            .arg(self.conf())
            .arg("--keepalived-pid")
            .arg(self.pid())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }

    fn expect(&self, code: i32, args: &[&str]) -> (String, String) {
        let out = self.lvsync(args);
        let (o, e) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(code), "{} lvsync {args:?}\nstdout:\n{o}\nstderr:\n{e}", self.name);
        (o.into_owned(), e.into_owned())
    }

    fn keepalived(&self) -> Child {
        let log = std::fs::File::create(self.log()).unwrap();
        Command::new("ip")
            .args(["netns", "exec", self.name, "keepalived", "--vrrp", "-f"])
            .arg(self.conf())
            .arg("-p")
            .arg(self.pid())
            .arg("-r")
            .arg(self.dir.join("vrrp.pid"))
            .args(["-l", "-D", "-n"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    fn has_vip(&self, vip: &str) -> bool {
        sh(&format!("ip netns exec {} ip -o addr show dev eth0", self.name)).contains(&format!(" {vip}/32 "))
    }

    fn reloads(&self) -> usize {
        std::fs::read_to_string(self.log()).unwrap_or_default().matches("Reloading").count()
    }
}

/// One bridge; each host a namespace with `eth0` on it.
fn network() {
    sh("ip link add br0 type bridge && ip link set br0 up");
    for (ns, addr) in [
        ("client", "192.168.2.50"),
        ("lb1", "192.168.2.101"),
        ("lb2", "192.168.2.102"),
        ("rs1", "192.168.2.106"),
        ("rs2", "192.168.2.107"),
    ] {
        sh(&format!(
            "ip netns add {ns} && ip link add {ns}-br type veth peer name eth0 netns {ns} \
             && ip link set {ns}-br master br0 up \
             && ip -n {ns} link set lo up && ip -n {ns} link set eth0 up \
             && ip -n {ns} addr add {addr}/24 dev eth0"
        ));
    }
    for rs in ["rs1", "rs2"] {
        sh(&format!(
            "ip -n {rs} addr add {VIP}/32 dev lo \
             && ip netns exec {rs} sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
                net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2"
        ));
    }
}

fn responders() {
    for (ns, addr) in [("rs1", "192.168.2.106"), ("rs2", "192.168.2.107")] {
        let listener = Listener {
            protocol: Protocol::Tcp,
            local: "0.0.0.0".parse().unwrap(),
            port: 80,
            identity: (addr.parse().unwrap(), 80),
        };
        start_responders(&Netns::open(ns).unwrap(), &[listener]).unwrap();
    }
}

fn target() -> Target {
    Target { name: "web".into(), protocol: Protocol::Tcp, vip: VIP.parse().unwrap(), port: 80, reals: vec![] }
}

/// `n` new connections from the client; the answers by real server, and the failures.
fn requests(n: usize) -> (std::collections::BTreeMap<String, usize>, usize) {
    let client = Netns::open("client").unwrap();
    let mut tally = std::collections::BTreeMap::new();
    let mut failed = 0;
    for _ in 0..n {
        let to = SocketAddr::new(VIP.parse::<IpAddr>().unwrap(), 80);
        let answer = client.run(move || {
            let s = TcpStream::connect_timeout(&to, Duration::from_secs(2))?;
            s.set_read_timeout(Some(Duration::from_secs(2)))?;
            let mut line = String::new();
            BufReader::new(s).read_line(&mut line)?;
            Ok(line.trim().to_string())
        });
        match answer {
            Ok(a) if !a.is_empty() => *tally.entry(a).or_insert(0) += 1,
            _ => failed += 1,
        }
    }
    (tally, failed)
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

#[test]
fn two_directors_with_keepalived_and_connection_sync() {
    uml_support::test_in_kernel("two_directors_with_keepalived_and_connection_sync", scratch(), || {
        network();
        responders();
        let (lb1, lb2) = (Director::new("lb1"), Director::new("lb2"));
        let file = lb1.dir.join("seed-ha.yaml");
        std::fs::write(&file, seed()).unwrap();
        let file = file.to_str().unwrap().to_string();

        // No keepalived yet: the configuration is written, and lvsync says so.
        for d in [&lb1, &lb2] {
            let (plan, _) = d.expect(2, &["plan", &file, "--detailed-exitcode"]);
            assert!(plan.contains("  + keepalived configuration"), "{plan}");
            assert!(plan.contains("+ ipvs sync master on eth0, id 51"), "{plan}");
            let (_, err) = d.expect(0, &["apply", &file]);
            assert!(err.contains("keepalived is not running"), "{err}");
            let conf = std::fs::read_to_string(d.conf()).unwrap();
            assert!(conf.contains(&format!("router_id {}", d.name)) && !conf.contains("virtual_server"), "{conf}");
            d.expect(0, &["plan", &file, "--detailed-exitcode"]);
        }
        let mut k1 = lb1.keepalived();
        let mut k2 = lb2.keepalived();

        // The VIP sits on the node of the higher priority.
        wait_for("the VIP on lb1", Duration::from_secs(15), || lb1.has_vip(VIP));
        std::thread::sleep(Duration::from_secs(2));
        assert!(!lb2.has_vip(VIP), "the VIP is on both directors");
        for d in [&lb1, &lb2] {
            d.expect(0, &["plan", &file, "--detailed-exitcode"]);
        }

        // Balanced: 32 requests, 16 to each real server.
        let (tally, failed) = requests(32);
        assert_eq!(failed, 0, "{tally:?}");
        assert_eq!(tally.values().copied().collect::<Vec<_>>(), [16, 16], "{tally:?}");

        // A long connection through lb1, then lb1's link goes down.
        let mut held = Held::open(&Netns::open("client").unwrap(), &target()).expect("a connection through lb1");
        let first = held.first.clone();
        for _ in 0..3 {
            assert_eq!(held.ping().unwrap(), first);
        }
        // The sync master sends a buffer of connections when it is full or 2 s old
        // (IPVS_SYNC_FLUSH_TIME): a connection younger than that at the failover may be lost.
        std::thread::sleep(Duration::from_secs(3));
        sh("ip -n lb1 link set eth0 down");
        let moved = wait_for("the VIP on lb2", Duration::from_secs(15), || lb2.has_vip(VIP));
        println!("failover: the VIP moved to lb2 in {:.1} s", moved.as_secs_f64());
        // The connection opened through lb1 keeps working through lb2.
        let mut kept = 0;
        for _ in 0..10 {
            if held.ping().ok().as_deref() == Some(first.as_str()) {
                kept += 1;
            }
        }
        println!("failover: the long connection answered {kept}/10 after the failover");
        assert_eq!(kept, 10, "the pre-failover connection did not survive");
        let (tally, failed) = requests(16);
        assert_eq!(failed, 0, "new connections after the failover: {tally:?}");

        // An unchanged file does not reload keepalived; a changed one does.
        let before = lb2.reloads();
        let (out, _) = lb2.expect(0, &["apply", &file]);
        assert!(out.contains("No changes"), "{out}");
        std::thread::sleep(Duration::from_secs(1));
        assert_eq!(lb2.reloads(), before, "an unchanged file reloaded keepalived");
        std::fs::write(&file, seed().replace("  preempt: true\n", "  preempt: true\n  vips: [192.168.2.120]\n"))
            .unwrap();
        let (plan, _) = lb2.expect(2, &["plan", &file, "--detailed-exitcode"]);
        assert!(plan.contains("      +         192.168.2.120/32 dev eth0"), "{plan}");
        lb2.expect(0, &["apply", &file]);
        wait_for("keepalived reloaded", Duration::from_secs(10), || lb2.reloads() > before);
        wait_for("the new VIP on lb2", Duration::from_secs(10), || lb2.has_vip("192.168.2.120"));
        lb2.expect(0, &["plan", &file, "--detailed-exitcode"]);

        for k in [&mut k1, &mut k2] {
            let _ = k.kill();
            let _ = k.wait();
        }
    });
}
