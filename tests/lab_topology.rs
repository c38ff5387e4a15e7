//! The lab's network carries real traffic in every forwarding method: here IPVS is configured
//! with ipvsadm, independently of lvsync's own apply of the director (which tests/lab_e2e.rs goes
//! through); the real servers are set up by `lvsync --role real-server apply`, as in every lab.

mod uml_support;

use std::path::Path;
use std::process::Command;

use lvsync::lab::Lab;

fn scratch() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

const LVSYNC: &str = env!("CARGO_BIN_EXE_lvsync");

/// The file as the lab's real servers read it.
fn file(name: &str, text: &str) -> std::path::PathBuf {
    let path = scratch().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn sh(argv: &[&str]) {
    let out = Command::new(argv[0]).args(&argv[1..]).output().unwrap();
    assert!(out.status.success(), "{argv:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// One file, every method: DR, NAT on its own subnet, IPIP, GUE and GRE tunnels, and UDP.
const EVERY_METHOD: &str = r#"
version: 1
services:
  - {name: dr, vip: 192.168.2.110, port: 80, scheduler: rr, forward: dr,
     real_servers: [{address: 192.168.2.106}, {address: 192.168.2.107}]}
  - {name: nat, vip: 192.168.2.111, port: 80, scheduler: rr, forward: nat,
     real_servers: [{address: 10.10.10.2, port: 8080}, {address: 10.10.10.3, port: 8080}]}
  - {name: tun, vip: 192.168.2.112, port: 80, scheduler: rr, forward: tun,
     real_servers: [{address: 192.168.2.106}, {address: 172.16.5.9}]}
  - {name: gue, vip: 192.168.2.113, port: 80, scheduler: rr, forward: tun, tunnel: {type: gue, port: 6080},
     real_servers: [{address: 192.168.2.106}, {address: 192.168.2.107}]}
  - {name: gre, vip: 192.168.2.114, port: 80, scheduler: rr, forward: tun, tunnel: {type: gre},
     real_servers: [{address: 192.168.2.106}, {address: 192.168.2.107}]}
  - {name: dns, vip: 192.168.2.110, port: 53, protocol: udp, scheduler: rr, forward: dr,
     real_servers: [{address: 192.168.2.106}, {address: 192.168.2.107}]}
"#;

#[test]
fn every_forwarding_method_carries_traffic_through_the_lab() {
    uml_support::test_in_kernel("every_forwarding_method_carries_traffic_through_the_lab", scratch(), || {
        let config = lvsync::model::load(EVERY_METHOD).unwrap();
        let lab = Lab::build(&config, &file("every-method.yaml", EVERY_METHOD), Path::new(LVSYNC)).unwrap();
        let ipvsadm = [
            "-A -t 192.168.2.110:80 -s rr",
            "-a -t 192.168.2.110:80 -r 192.168.2.106:80 -g",
            "-a -t 192.168.2.110:80 -r 192.168.2.107:80 -g",
            "-A -t 192.168.2.111:80 -s rr",
            "-a -t 192.168.2.111:80 -r 10.10.10.2:8080 -m",
            "-a -t 192.168.2.111:80 -r 10.10.10.3:8080 -m",
            "-A -t 192.168.2.112:80 -s rr",
            "-a -t 192.168.2.112:80 -r 192.168.2.106:80 -i",
            "-a -t 192.168.2.112:80 -r 172.16.5.9:80 -i",
            "-A -t 192.168.2.113:80 -s rr",
            "-a -t 192.168.2.113:80 -r 192.168.2.106:80 -i --tun-type gue --tun-port 6080",
            "-a -t 192.168.2.113:80 -r 192.168.2.107:80 -i --tun-type gue --tun-port 6080",
            "-A -t 192.168.2.114:80 -s rr",
            "-a -t 192.168.2.114:80 -r 192.168.2.106:80 -i --tun-type gre",
            "-a -t 192.168.2.114:80 -r 192.168.2.107:80 -i --tun-type gre",
            "-A -u 192.168.2.110:53 -s rr",
            "-a -u 192.168.2.110:53 -r 192.168.2.106:53 -g",
            "-a -u 192.168.2.110:53 -r 192.168.2.107:53 -g",
        ];
        for args in ipvsadm {
            let mut argv = vec!["ipvsadm"];
            argv.extend(args.split(' '));
            sh(&argv);
        }
        for target in &lab.topology.targets {
            let result = lab.send(target, 32);
            println!("{result:?}");
            assert_eq!(result.failed, 0, "{result:?}");
            assert!(result.by_real.values().all(|n| *n == 16), "{result:?}");
        }
        assert_eq!(lab.topology.targets.len(), 6);
    });
}

#[test]
fn a_held_connection_keeps_its_real_server_when_its_weight_drops_to_zero() {
    uml_support::test_in_kernel(
        "a_held_connection_keeps_its_real_server_when_its_weight_drops_to_zero",
        scratch(),
        || {
            let text = include_str!("../examples/seed-dr.yaml");
            let config = lvsync::model::load(text).unwrap();
            let lab = Lab::build(&config, &file("seed-dr.yaml", text), Path::new(LVSYNC)).unwrap();
            sh(&["ipvsadm", "-A", "-t", "192.168.2.110:80", "-s", "rr"]);
            sh(&["ipvsadm", "-a", "-t", "192.168.2.110:80", "-r", "192.168.2.106:80", "-g"]);
            sh(&["ipvsadm", "-a", "-t", "192.168.2.110:80", "-r", "192.168.2.107:80", "-g"]);
            let web = lab.target("web").unwrap();
            let mut held = lab.hold(web).unwrap();
            let first = held.first.clone();
            sh(&["ipvsadm", "-e", "-t", "192.168.2.110:80", "-r", first.as_str(), "-g", "-w", "0"]);
            for _ in 0..3 {
                assert_eq!(held.ping().unwrap(), first);
            }
            let after = lab.send(web, 8);
            assert_eq!(after.failed, 0, "{after:?}");
            assert_eq!(after.by_real[&first], 0, "a real server of weight 0 takes no new connection: {after:?}");
        },
    );
}
