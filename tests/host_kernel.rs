//! The host side against a real kernel (Linux 6.1 in User-Mode Linux), in one boot: the
//! host's own addresses are found; a real server's DR and TUN (ipip, gue, gre) needs are set up
//! through rtnetlink, generic netlink "fou" and /proc/sys; a second pass changes nothing; a
//! sysctl changed by hand is repaired; when the file no longer asks, lvsync removes what it
//! added and restores every sysctl, while a foreign address on `lo` stays. `ip` is the oracle.

mod uml_support;

use std::path::Path;

use lvsync::desired::host::{director, nat_warnings, real_server};
use lvsync::host::HostSystem;
use lvsync::model::load;
use lvsync::plan::HostChange;
use lvsync::plan::host::diff;
use lvsync::state::{HostState, Owned, SysctlKey};
use uml_support::sh;

fn scratch() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

fn proc_sys(key: &str) -> String {
    std::fs::read_to_string(format!("/proc/sys/{}", key.replace('.', "/"))).unwrap().trim().to_string()
}

const FILE: &str = "
version: 1
services:
  - name: web
    vip: 192.168.2.110
    port: 80
    real_servers: [{address: 192.168.2.106}]
  - name: web6
    vip: 2001:db8::10
    port: 80
    real_servers: [{address: 2001:db8::106}]
  - name: ipip
    vip: 192.168.2.111
    port: 80
    forward: tun
    real_servers: [{address: 192.168.2.106}]
  - name: gue
    vip: 192.168.2.112
    port: 80
    forward: tun
    tunnel: {type: gue, port: 6080}
    real_servers: [{address: 192.168.2.106}]
  - name: gre
    vip: 192.168.2.113
    port: 80
    forward: tun
    tunnel: {type: gre}
    real_servers: [{address: 192.168.2.106}]
";

/// One pass of observe -> diff -> apply, recording ownership; returns the plan lines.
fn converge(host: &mut HostSystem, desired: &HostState, owned: &mut Owned) -> Vec<String> {
    let keys: Vec<SysctlKey> = desired.sysctls.keys().chain(owned.sysctls.keys()).cloned().collect();
    let observed = host.observe(&keys).unwrap();
    let changes = diff(desired, &observed, owned);
    for c in &changes {
        let before = host.apply(c).unwrap_or_else(|e| panic!("{c}: {e}"));
        owned.record(c, before.as_deref());
    }
    let observed = host.observe(&keys).unwrap();
    owned.settle(desired, &observed);
    changes.iter().map(HostChange::to_string).collect()
}

#[test]
fn a_real_server_is_set_up_repaired_and_cleaned_through_rtnetlink_and_proc_sys() {
    uml_support::test_in_kernel(
        "a_real_server_is_set_up_repaired_and_cleaned_through_rtnetlink_and_proc_sys",
        scratch(),
        || {
            sh("ip link add eth1 type dummy && ip link set eth1 up \
            && ip addr add 192.168.2.106/24 dev eth1 && ip -6 addr add 2001:db8::106/64 dev eth1 nodad \
            && ip addr add 10.9.9.9/32 dev lo");
            let originals: Vec<(&str, String)> = [
                "net.ipv4.conf.all.arp_ignore",
                "net.ipv4.conf.eth1.arp_ignore",
                "net.ipv4.conf.all.arp_announce",
                "net.ipv4.conf.all.rp_filter",
                "net.ipv4.conf.tunl0.rp_filter",
                "net.ipv4.conf.gre0.rp_filter",
            ]
            .into_iter()
            .map(|k| (k, proc_sys(k)))
            .collect();
            // Differ from what lvsync wants, so that restoring is visible.
            sh("echo 1 > /proc/sys/net/ipv4/conf/all/rp_filter && echo 2 > /proc/sys/net/ipv4/conf/tunl0/rp_filter");

            let mut host = HostSystem::connect().unwrap();
            let own = host.own_addresses().unwrap();
            let shown: Vec<String> =
                own.iter().map(|o| format!("{} {}", o.addr, o.device.as_deref().unwrap_or("?"))).collect();
            assert!(shown.contains(&"192.168.2.106 eth1".to_string()), "{shown:?}");
            assert!(shown.contains(&"2001:db8::106 eth1".to_string()), "{shown:?}");
            assert!(!shown.iter().any(|s| s.ends_with(" lo")), "lo is not where real-server addresses live: {shown:?}");

            let config = load(FILE).unwrap();
            let side = real_server(&config, &own);
            let mut owned = Owned::default();
            let lines = converge(&mut host, &side.desired, &mut owned);
            println!("first apply:\n{}", lines.join("\n"));
            assert!(lines.contains(&"+ address 192.168.2.110/32 on lo".to_string()), "{lines:?}");
            assert!(lines.contains(&"+ device tunl0 up".to_string()), "{lines:?}");
            assert!(lines.contains(&"~ sysctl net.ipv4.conf.tunl0.rp_filter 2 -> 0".to_string()), "{lines:?}");

            let lo = sh("ip -o addr show dev lo");
            assert!(lo.contains("192.168.2.110/32") && lo.contains("2001:db8::10/128"), "{lo}");
            assert!(lo.contains("10.9.9.9/32"), "the foreign address stays: {lo}");
            let tunl0 = sh("ip -o addr show dev tunl0");
            assert!(tunl0.contains("192.168.2.111/32") && tunl0.contains("192.168.2.112/32"), "{tunl0}");
            assert!(sh("ip -o addr show dev gre0").contains("192.168.2.113/32"));
            for dev in ["tunl0", "gre0"] {
                assert!(sh(&format!("ip -o link show dev {dev}")).contains(",UP"), "{dev} is up");
            }
            assert!(sh("ip fou show").contains("port 6080 gue"), "the GUE listener");
            for (key, want) in [
                ("net.ipv4.conf.all.arp_ignore", "1"),
                ("net.ipv4.conf.eth1.arp_ignore", "1"),
                ("net.ipv4.conf.all.arp_announce", "2"),
                ("net.ipv4.conf.eth1.arp_announce", "2"),
                ("net.ipv4.conf.all.rp_filter", "0"),
                ("net.ipv4.conf.tunl0.rp_filter", "0"),
                ("net.ipv4.conf.gre0.rp_filter", "0"),
            ] {
                assert_eq!(proc_sys(key), want, "{key}");
            }

            let again = converge(&mut host, &side.desired, &mut owned);
            assert!(again.is_empty(), "a second pass changes nothing: {again:?}");

            sh("echo 0 > /proc/sys/net/ipv4/conf/all/arp_ignore");
            let repair = converge(&mut host, &side.desired, &mut owned);
            assert_eq!(repair, ["~ sysctl net.ipv4.conf.all.arp_ignore 0 -> 1"]);
            assert_eq!(proc_sys("net.ipv4.conf.all.arp_ignore"), "1");

            // NAT: the route back is checked against the kernel's default routes.
            let nat = load("version: 1\nservices:\n  - {name: nat, vip: 192.168.2.120, port: 80, forward: nat, real_servers: [{address: 192.168.2.106}]}\n").unwrap();
            let checks = real_server(&nat, &own).nat;
            assert_eq!(checks.len(), 1);
            let warnings = nat_warnings(&checks, &host.default_routes().unwrap());
            assert!(warnings.len() == 1 && warnings[0].contains("no default route"), "{warnings:?}");
            sh("ip route add default dev eth1");
            let warnings = nat_warnings(&checks, &host.default_routes().unwrap());
            assert!(warnings.len() == 1 && warnings[0].contains("straight out of `eth1`"), "{warnings:?}");
            sh("ip route replace default via 192.168.2.1 dev eth1");
            assert_eq!(nat_warnings(&checks, &host.default_routes().unwrap()), Vec::<String>::new());

            // The file no longer has these services.
            let empty = real_server(&load("version: 1\nservices: []\n").unwrap(), &own);
            let cleanup = converge(&mut host, &empty.desired, &mut owned);
            println!("clean-up:\n{}", cleanup.join("\n"));
            assert_eq!(owned, Owned::default(), "nothing left to undo");
            let lo = sh("ip -o addr show dev lo");
            assert!(!lo.contains("192.168.2.110") && !lo.contains("2001:db8::10/"), "{lo}");
            assert!(lo.contains("10.9.9.9/32") && lo.contains("127.0.0.1/8"), "foreign addresses stay: {lo}");
            assert!(!sh("ip -o addr show dev tunl0").contains("192.168.2.11"));
            assert!(!sh("ip fou show").contains("6080"));
            assert!(!sh("ip -o link show dev tunl0").contains(",UP"), "tunl0 back down");
            assert_eq!(proc_sys("net.ipv4.conf.all.rp_filter"), "1", "back to its value before lvsync");
            assert_eq!(proc_sys("net.ipv4.conf.tunl0.rp_filter"), "2", "back to its value before lvsync");
            for (key, original) in &originals {
                if !key.ends_with("rp_filter") || key.contains("gre0") {
                    assert_eq!(&proc_sys(key), original, "{key} restored");
                }
            }
            // The director's side: VIPs on its interface, forwarding, net.ipv4.vs.* settings.
            let before = proc_sys("net.ipv4.vs.expire_nodest_conn");
            let forward_before = proc_sys("net.ipv4.ip_forward");
            let file = "version: 1\nipvs: {sysctls: {expire_nodest_conn: true, conn_reuse_mode: 2}}\ndirector: {interface: eth1}\nservices:\n  - {name: nat, vip: 192.168.2.120, port: 80, forward: nat, real_servers: [{address: 10.0.0.2}]}\n";
            let desired = director(&load(file).unwrap());
            let mut owned = Owned::default();
            let lines = converge(&mut host, &desired, &mut owned);
            assert!(lines.contains(&"+ address 192.168.2.120/32 on eth1".to_string()), "{lines:?}");
            assert!(lines.contains(&format!("~ sysctl net.ipv4.vs.expire_nodest_conn {before} -> 1")), "{lines:?}");
            assert_eq!(proc_sys("net.ipv4.vs.expire_nodest_conn"), "1");
            assert_eq!(proc_sys("net.ipv4.vs.conn_reuse_mode"), "2");
            assert_eq!(proc_sys("net.ipv4.ip_forward"), "1");
            assert!(sh("ip -o addr show dev eth1").contains("192.168.2.120/32"));
            assert!(converge(&mut host, &desired, &mut owned).is_empty());
            converge(&mut host, &HostState::default(), &mut owned);
            assert_eq!(proc_sys("net.ipv4.vs.expire_nodest_conn"), before);
            assert_eq!(proc_sys("net.ipv4.ip_forward"), forward_before);
            let eth1 = sh("ip -o addr show dev eth1");
            assert!(!eth1.contains("192.168.2.120") && eth1.contains("192.168.2.106/24"), "{eth1}");
        },
    );
}
