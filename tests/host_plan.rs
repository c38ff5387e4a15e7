//! The host domain in the plan, without a kernel: SPEC's plan lines and JSON kinds, the apply
//! order around services, ownership (only what lvsync added is removed, a sysctl restored to its
//! value before), and the inventory keeping it, readable from before it was recorded.

use std::time::Duration;

use lvsync::desired::{desired, for_role};
use lvsync::inventory::StateDir;
use lvsync::model::load;
use lvsync::plan::{Phase, RenderOptions, plan, render_json, render_text};
use lvsync::state::{HostAddress, Inventory, Overlays, OwnAddress, Ownership, RealServerFacts, State, SysctlKey};

const FILE: &str = "
version: 1
director: {interface: eth0}
ipvs:
  sysctls: {expire_nodest_conn: true}
services:
  - {name: web, vip: 192.168.2.110, port: 80, real_servers: [{address: 192.168.2.106}]}
";

fn observed_director() -> State {
    let mut s = State::default();
    s.host.sysctls.insert(SysctlKey::ipvs("expire_nodest_conn"), "0".into());
    s
}

#[test]
fn the_director_plans_its_vip_and_sysctl_before_its_services_with_specs_lines_and_kinds() {
    let config = load(FILE).unwrap();
    let want = desired(&config, &Overlays::default());
    let p = plan(&want, &observed_director(), Ownership::Managed, &Inventory::default());
    let text = render_text(&p, RenderOptions::default());
    assert!(text.contains("  + address 192.168.2.110/32 on eth0\n"), "{text}");
    assert!(text.contains("  ~ sysctl net.ipv4.vs.expire_nodest_conn 0 -> 1\n"), "{text}");
    let phases: Vec<Phase> = p.changes.iter().map(|c| c.phase()).collect();
    assert_eq!(phases.first(), Some(&Phase::Host), "host set-up comes first: {phases:?}");
    let json = render_json(&p);
    let kinds: Vec<&str> = json["changes"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["address", "ipvs_sysctl", "service", "real_server"]);
    let sysctl = &json["changes"][1];
    assert_eq!(sysctl["id"], "net.ipv4.vs.expire_nodest_conn");
    assert_eq!(sysctl["before"]["value"], "0");
    assert_eq!(sysctl["after"]["value"], "1");
    assert_eq!(json["changes"][0]["after"]["device"], "eth0");
    assert_eq!(json["changes"][0]["after"]["address"], "192.168.2.110");
}

#[test]
fn only_what_lvsync_added_is_removed_and_a_sysctl_goes_back_to_its_value_before() {
    let config = load(FILE).unwrap();
    let want = desired(&config, &Overlays::default());
    let mut inventory = Inventory { found: true, ..Inventory::default() };
    let first = plan(&want, &observed_director(), Ownership::Managed, &inventory);
    for c in &first.changes {
        c.info().record(&mut inventory, false);
        c.info().record(&mut inventory, true);
    }
    assert_eq!(inventory.host.sysctls.get(&SysctlKey::ipvs("expire_nodest_conn")).map(String::as_str), Some("0"));

    // The file asks for nothing of the host any more; the host holds the VIP, a foreign
    // address on the same device, and the sysctl as lvsync set it.
    let empty = desired(&load("version: 1\nservices: []\n").unwrap(), &Overlays::default());
    let mut live = State::default();
    live.host.addresses.insert(HostAddress::host("eth0", "192.168.2.110".parse().unwrap()));
    live.host.addresses.insert(HostAddress::host("eth0", "192.168.2.99".parse().unwrap()));
    live.host.sysctls.insert(SysctlKey::ipvs("expire_nodest_conn"), "1".into());
    let undo = plan(&empty, &live, Ownership::Managed, &inventory);
    let text = render_text(&undo, RenderOptions::default());
    assert!(text.contains("  - address 192.168.2.110/32 on eth0\n"), "{text}");
    assert!(text.contains("  ~ sysctl net.ipv4.vs.expire_nodest_conn 1 -> 0 (restored)\n"), "{text}");
    assert!(!text.contains("192.168.2.99"), "a foreign address is never touched: {text}");
    assert!(undo.changes.iter().all(|c| c.phase() == Phase::RemoveHost));

    // Without the record, nothing is removed or restored.
    let none = plan(&empty, &live, Ownership::Managed, &Inventory::default());
    assert!(none.is_empty(), "{:?}", none.changes);
}

#[test]
fn a_real_server_gets_its_side_and_a_nat_warning_when_its_route_back_bypasses_the_director() {
    let config = load(
        "version: 1
services:
  - {name: web, vip: 192.168.2.110, port: 80, real_servers: [{address: 192.168.2.106}]}
  - {name: app, vip: 192.168.2.111, port: 80, forward: nat, real_servers: [{address: 192.168.2.106, port: 8080}]}
",
    )
    .unwrap();
    let facts = RealServerFacts {
        own: vec![OwnAddress { addr: "192.168.2.106".parse().unwrap(), device: Some("eth0".into()) }],
        routes: vec![],
    };
    let (want, notes) = for_role(&config, &Overlays::default(), Some(&facts));
    assert!(want.services.is_empty() && want.chains.is_empty(), "a real server touches no IPVS or firewall");
    assert!(want.host.addresses.contains(&HostAddress::host("lo", "192.168.2.110".parse().unwrap())));
    assert!(!want.host.addresses.iter().any(|a| a.addr.to_string() == "192.168.2.111"), "nat needs no VIP");
    assert_eq!(want.host.sysctls.get(&SysctlKey::ipv4_conf("eth0", "arp_ignore")).map(String::as_str), Some("1"));
    assert!(notes.iter().any(|n| n.contains("forwards by nat") && n.contains("no default route")), "{notes:?}");
}

#[test]
fn the_inventory_keeps_what_lvsync_changed_on_the_host_and_reads_older_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inventory.json"), r#"{"version": 1, "services": {"tcp/192.168.2.110:80": "web"}}"#)
        .unwrap();
    let sd = StateDir::lock(dir.path(), Duration::ZERO).unwrap();
    let mut inv = sd.load().unwrap();
    assert!(inv.found && inv.host.is_empty() && inv.services.len() == 1, "an older inventory reads: {inv:?}");
    inv.host.addresses.insert(HostAddress::host("lo", "192.168.2.110".parse().unwrap()));
    inv.host.sysctls.insert(SysctlKey::ipv4_conf("all", "arp_ignore"), "0".into());
    sd.save(&inv).unwrap();
    assert_eq!(sd.load().unwrap().host, inv.host);
    let text = std::fs::read_to_string(dir.path().join("inventory.json")).unwrap();
    assert!(text.contains("net/ipv4/conf/all/arp_ignore"), "{text}");
}
