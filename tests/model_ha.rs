//! `ha`: validation (path, line, the bad value, what is valid) and resolution.

use lvsync::model::load;

const SERVICES: &str = "services:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    real_servers:\n      - address: 192.168.2.106\n";

fn file(ha: &str) -> String {
    format!("version: 1\n{SERVICES}ha:\n{ha}")
}

const PAIR: &str = "  engine: keepalived\n  interface: eth0\n  vrid: 51\n  nodes:\n    - {name: lb1, address: 192.168.2.101, priority: 150}\n    - {name: lb2, address: 192.168.2.102, priority: 100}\n";

fn errors(text: &str) -> Vec<(String, Option<usize>, String)> {
    load(text).unwrap_err().0.into_iter().map(|d| (d.path, d.line, d.message)).collect()
}

fn error_at<'a>(e: &'a [(String, Option<usize>, String)], path: &str) -> &'a (String, Option<usize>, String) {
    e.iter().find(|(p, ..)| p == path).unwrap_or_else(|| panic!("no error at {path}: {e:?}"))
}

#[test]
fn the_classic_pair_resolves_with_defaults_and_every_service_vip() {
    let c = load(&file(&format!("{PAIR}  vips: [192.168.2.120]\n"))).unwrap();
    let ha = c.ha.unwrap();
    assert_eq!((ha.interface.as_str(), ha.vrid, ha.advert_interval, ha.preempt), ("eth0", 51, 1, true));
    assert_eq!(ha.nodes.len(), 2);
    assert_eq!(ha.node("lb2").unwrap().priority, 100);
    let vips: Vec<String> = ha.vips.iter().map(|v| v.to_string()).collect();
    assert_eq!(vips, ["192.168.2.110", "192.168.2.120"]);
    let text = ha.render(ha.node("lb1").unwrap());
    assert!(text.contains("192.168.2.110/32 dev eth0") && text.contains("192.168.2.120/32 dev eth0"), "{text}");
}

#[test]
fn vrid_engine_priorities_and_nodes_are_checked() {
    let text = file(
        "  engine: vrrpd\n  interface: eth0\n  vrid: 256\n  nodes:\n    - {name: lb1, address: 192.168.2.101, priority: 150}\n    - {name: lb1, address: 192.168.2.101, priority: 150}\n    - {name: lb3, address: 2001:db8::3, priority: 255}\n",
    );
    let e = errors(&text);
    let (_, line, msg) = error_at(&e, "ha.engine");
    assert_eq!(*line, Some(9));
    assert!(msg.contains("`vrrpd`") && msg.contains("`keepalived`"), "{msg}");
    let (_, line, msg) = error_at(&e, "ha.vrid");
    assert_eq!(*line, Some(11));
    assert!(msg.contains("`256`") && msg.contains("1..=255"), "{msg}");
    assert!(error_at(&e, "ha.nodes[1].name").2.contains("listed twice"));
    assert!(error_at(&e, "ha.nodes[1].address").2.contains("listed twice"));
    let (_, _, msg) = error_at(&e, "ha.nodes[1].priority");
    assert!(msg.contains("`150`") && msg.contains("priorities must differ"), "{msg}");
    assert!(error_at(&e, "ha.nodes[2].priority").2.contains("1..=254"));
}

#[test]
fn vips_that_repeat_or_are_node_addresses_and_fwmark_services_without_vips_are_refused() {
    let e = errors(&file(&format!("{PAIR}  vips: [192.168.2.110, 192.168.2.101, 192.168.2.120, 192.168.2.120]\n")));
    assert!(error_at(&e, "ha.vips[0]").2.contains("already a service VIP"));
    assert!(error_at(&e, "ha.vips[1]").2.contains("own address of node `lb1`"));
    assert!(error_at(&e, "ha.vips[3]").2.contains("listed twice"));
    let fwmark = format!(
        "version: 1\nservices:\n  - name: marked\n    fwmark: 42\n    real_servers:\n      - address: 192.168.2.106\nha:\n{PAIR}"
    );
    let e = errors(&fwmark);
    assert!(error_at(&e, "ha.vips").2.contains("fwmark service(s) `marked` have no VIP"), "{e:?}");
    assert!(load(&format!("{fwmark}  vips: [192.168.2.110]\n")).is_ok());
}

#[test]
fn a_pair_needs_two_nodes() {
    let e = errors(&file(
        "  engine: keepalived\n  interface: eth0\n  vrid: 1\n  nodes:\n    - {name: lb1, address: 192.168.2.101, priority: 150}\n",
    ));
    assert!(error_at(&e, "ha.nodes").2.contains("at least 2"), "{e:?}");
}

#[test]
fn with_ha_director_interface_is_refused_and_the_host_domain_holds_no_vip() {
    let text = format!("version: 1\ndirector:\n  interface: eth0\n{SERVICES}ha:\n{PAIR}");
    let e = errors(&text);
    let (_, line, msg) = error_at(&e, "director.interface");
    assert_eq!(*line, Some(3));
    assert!(msg.contains("`eth0`") && msg.contains("keepalived holds them") && msg.contains("leave"), "{msg}");
    // `director` without an interface goes with `ha`: forwarding is still the host's, no VIP is.
    let c = load(&format!("version: 1\ndirector:\n  forwarding: true\n{SERVICES}ha:\n{PAIR}")).unwrap();
    let host = lvsync::desired::host::director(&c);
    assert!(host.addresses.is_empty(), "{host:?}");
    assert!(!host.sysctls.is_empty(), "{host:?}");
}
