//! Services: scheduler, flags, persistence, forwarding, tunnels.

use super::*;

#[test]
fn scheduler_must_be_known() {
    refused(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    scheduler: roundrobin\n",
        "services[0].scheduler",
        6,
        &["`roundrobin`", "`rr`", "`wlc`", "`twos`"],
    );
}

#[test]
fn scheduler_flags_belong_to_their_scheduler() {
    refused(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    scheduler: rr\n    scheduler_flags: [sh-port]\n",
        "services[0].scheduler_flags[0]",
        7,
        &["`sh-port`", "`sh` scheduler", "`rr`", "flag-2"],
    );
    refused(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    scheduler_flags: [mh-fallback]\n",
        "services[0].scheduler_flags[0]",
        6,
        &["`mh` scheduler", "`wlc`"],
    );
    refused(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    scheduler: sh\n    scheduler_flags:\n      - sh-fallback\n      - flag-1\n",
        "services[0].scheduler_flags[1]",
        9,
        &["same flag", "`sh-fallback`"],
    );
    refused(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    scheduler_flags: [fallback]\n",
        "services[0].scheduler_flags[0]",
        6,
        &["`fallback`", "not a scheduler flag", "flag-1"],
    );
    let c = accepted(
        "version: 1\nservices:\n  - {name: w, vip: 192.168.2.110, port: 80, scheduler: rr, scheduler_flags: [flag-1, flag-3]}\n",
    );
    assert_eq!(c.services[0].service.attrs.sched_flags.0, 0b101);
}

#[test]
fn persistence_timeout_is_positive() {
    refused(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    persistence:\n      timeout: 0\n",
        "services[0].persistence.timeout",
        7,
        &["`0`", "1..=2147483"],
    );
}

#[test]
fn persistence_netmask_fits_the_family() {
    let base =
        "version: 1\nservices:\n  - name: web\n    vip: VIP\n    port: 80\n    persistence:\n      netmask: MASK\n";
    for (vip, mask, words) in [
        ("192.168.2.110", "255.0.255.0", &["`255.0.255.0`", "contiguous"][..]),
        ("192.168.2.110", "0.0.0.0", &["not all zero"][..]),
        ("192.168.2.110", "24", &["`24`", "dotted mask", "prefix /24 is `255.255.255.0`"][..]),
        ("192.168.2.110", "255.255.255.256", &["IPv4 netmask"][..]),
        ("2001:db8::1", "255.255.255.0", &["prefix length 1..128"][..]),
        ("2001:db8::1", "129", &["`129`", "1..128"][..]),
        ("2001:db8::1", "0", &["`0`"][..]),
    ] {
        let text = base.replace("VIP", vip).replace("MASK", mask);
        refused(&text, "services[0].persistence.netmask", 7, words);
    }
    let c = accepted(&base.replace("VIP", "2001:db8::1").replace("MASK", "64"));
    assert_eq!(c.services[0].service.attrs.persistence.as_ref().unwrap().netmask, lvsync::state::Netmask::V6(64));
}

#[test]
fn persistence_engine_is_a_module_name() {
    refused(
        "version: 1\nservices:\n  - name: sip\n    vip: 192.168.2.110\n    port: 5060\n    protocol: udp\n    persistence: {engine: \"ip_vs_pe_sip.ko\"}\n",
        "services[0].persistence.engine",
        7,
        &["`ip_vs_pe_sip.ko`", "`sip`"],
    );
}

#[test]
fn one_packet_needs_udp() {
    refused(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    one_packet: true\n",
        "services[0].one_packet",
        6,
        &["UDP", "`tcp`"],
    );
    accepted("version: 1\nservices:\n  - {name: dns, vip: 192.168.2.110, port: 53, protocol: udp, one_packet: true}\n");
    accepted("version: 1\nservices:\n  - {name: m, fwmark: 3, one_packet: true}\n");
}

#[test]
fn forward_is_dr_nat_or_tun() {
    refused(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    forward: direct\n",
        "services[0].forward",
        6,
        &["`direct`", "`dr`", "`nat`", "`tun`"],
    );
    refused(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    real_servers:\n      - {address: 10.0.0.2, forward: masq}\n",
        "services[0].real_servers[0].forward",
        7,
        &["`masq`"],
    );
}

#[test]
fn a_tunnel_needs_forward_tun() {
    refused(
        "
        version: 1
        services:
          - name: web
            vip: 192.168.2.110
            port: 80
            tunnel: {type: gre}
        ",
        "services[0].tunnel",
        6,
        &["`forward: tun`", "`dr`"],
    );
    refused(
        "
        version: 1
        services:
          - name: web
            vip: 192.168.2.110
            port: 80
            forward: nat
            real_servers:
              - address: 10.0.0.2
                tunnel: {type: ipip}
        ",
        "services[0].real_servers[0].tunnel",
        9,
        &["`forward: tun`", "`nat`"],
    );
}

#[test]
fn tunnel_settings_fit_the_tunnel_type() {
    let base = "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    forward: tun\n    tunnel: TUNNEL\n";
    for (tunnel, path, words) in [
        ("{type: gue}", "services[0].tunnel", &["`gue`", "needs `port`"][..]),
        ("{type: ipip, port: 6080}", "services[0].tunnel.port", &["only applies to `gue`", "`ipip`"][..]),
        ("{type: ipip, checksum: csum}", "services[0].tunnel.checksum", &["`csum`", "`ipip`"][..]),
        ("{type: gre, checksum: remcsum}", "services[0].tunnel.checksum", &["`remcsum`", "`gue`"][..]),
        ("{type: vxlan}", "services[0].tunnel.type", &["`vxlan`", "`ipip`", "`gue`", "`gre`"][..]),
        ("{type: gue, port: 0}", "services[0].tunnel.port", &["`0`", "1..=65535"][..]),
        ("{type: gue, port: 6080, checksum: crc}", "services[0].tunnel.checksum", &["`crc`", "`remcsum`"][..]),
    ] {
        refused(&base.replace("TUNNEL", tunnel), path, 7, words);
    }
}
