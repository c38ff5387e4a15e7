//! Services: what identifies them (name, VIP, port, protocol, fwmark, family).

use super::*;

#[test]
fn service_names_follow_the_pattern() {
    for (name, word) in
        [("Web", "must start"), ("web server", "may only hold"), ("web/1", "may only hold"), ("-web", "must start")]
    {
        let text = format!("version: 1\nservices:\n  - name: \"{name}\"\n    vip: 192.168.2.110\n    port: 80\n");
        refused(&text, "services[0].name", 3, &[&format!("`{name}`"), word, "[a-z0-9][a-z0-9._-]{0,62}"]);
    }
    let long = "a".repeat(64);
    let text = format!("version: 1\nservices:\n  - name: {long}\n    vip: 192.168.2.110\n    port: 80\n");
    refused(&text, "services[0].name", 3, &["64 characters", "limit is 63"]);
    accepted(&format!("version: 1\nservices:\n  - name: {}\n    vip: 192.168.2.110\n    port: 80\n", "a".repeat(63)));
}

#[test]
fn bad_values_never_break_the_one_line_per_problem_rule() {
    let text = "version: 1\nservices:\n  - name: \"web\\nserver\"\n    vip: \"192.168.2.1\\r\\n10\"\n    port: 80\n";
    let d = load(text).unwrap_err();
    let rendered = d.render("t.yaml");
    assert_eq!(rendered.lines().count(), 2, "{rendered}");
    assert!(rendered.contains("`web\\nserver`"), "{rendered}");
    // Non-ASCII names are refused for their characters, not their length.
    let e = refused(
        "version: 1\nservices:\n  - name: wéb\n    vip: 192.168.2.110\n    port: 80\n",
        "services[0].name",
        3,
        &[],
    );
    assert!(e.message.contains("may only hold"), "{}", e.message);
}

#[test]
fn duplicate_service_names_are_refused() {
    refused(
        "
        version: 1
        services:
          - name: web
            vip: 192.168.2.110
            port: 80
          - name: web
            vip: 192.168.2.110
            port: 443
        ",
        "services[1].name",
        6,
        &["`web`", "twice", "services[0]"],
    );
}

#[test]
fn duplicate_identities_are_refused() {
    refused(
        "
        version: 1
        services:
          - name: web
            vip: 192.168.2.110
            port: 80
          - name: web-again
            vip: 192.168.2.110
            port: 80
            protocol: tcp
        ",
        "services[1].vip",
        7,
        &["tcp/192.168.2.110:80", "`web`"],
    );
    refused(
        "
        version: 1
        services:
          - {name: a, fwmark: 42}
          - {name: b, fwmark: 42, family: ipv4}
        ",
        "services[1].fwmark",
        4,
        &["fwmark/42"],
    );
    // Same mark, other family: two services.
    accepted("version: 1\nservices:\n  - {name: a, fwmark: 42}\n  - {name: b, fwmark: 42, family: ipv6}\n");
    // Same vip and port, other protocol: two services.
    accepted(
        "version: 1\nservices:\n  - {name: a, vip: 192.168.2.110, port: 53}\n  - {name: b, vip: 192.168.2.110, port: 53, protocol: udp}\n",
    );
}

#[test]
fn vip_and_fwmark_together_are_refused() {
    refused(
        "
        version: 1
        services:
          - name: web
            vip: 192.168.2.110
            port: 80
            fwmark: 42
        ",
        "services[0].fwmark",
        6,
        &["`vip` and `fwmark` together"],
    );
}

#[test]
fn a_service_needs_vip_or_fwmark() {
    refused("version: 1\nservices:\n  - name: web\n    port: 80\n", "services[0]", 3, &["neither `vip` nor `fwmark`"]);
}

#[test]
fn vip_must_be_a_unicast_address() {
    for (vip, words) in [
        ("192.168.2.300", &["`192.168.2.300`", "IPv4 or IPv6 address"][..]),
        ("192.168.2.110/32", &["without a prefix length"][..]),
        ("web.example.com", &["IPv4 or IPv6 address"][..]),
        ("0.0.0.0", &["unspecified"][..]),
        ("::", &["unspecified"][..]),
        ("224.0.0.18", &["multicast"][..]),
        ("ff02::1", &["multicast"][..]),
        ("255.255.255.255", &["broadcast"][..]),
    ] {
        let text = format!("version: 1\nservices:\n  - name: web\n    vip: \"{vip}\"\n    port: 80\n");
        refused(&text, "services[0].vip", 4, words);
    }
}

#[test]
fn a_vip_service_needs_a_port_in_range() {
    refused("version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n", "services[0]", 3, &["needs `port`"]);
    refused(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 70000\n",
        "services[0].port",
        5,
        &["`70000`", "0..=65535"],
    );
    refused(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: -1\n",
        "services[0].port",
        5,
        &["`-1`"],
    );
}

#[test]
fn port_0_needs_persistence() {
    refused(
        "
        version: 1
        services:
          - name: all-ports
            vip: 192.168.2.110
            port: 0
        ",
        "services[0].port",
        5,
        &["`0`", "persistence"],
    );
    let c =
        accepted("version: 1\nservices:\n  - {name: all, vip: 192.168.2.110, port: 0, persistence: {timeout: 60}}\n");
    assert_eq!(c.services[0].service.attrs.persistence.as_ref().unwrap().timeout, 60);
}

#[test]
fn protocol_is_tcp_udp_or_sctp() {
    refused(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    protocol: http\n",
        "services[0].protocol",
        6,
        &["`http`", "`tcp`", "`udp`", "`sctp`"],
    );
}

#[test]
fn fwmark_is_positive_and_takes_no_port_or_protocol() {
    refused("version: 1\nservices:\n  - name: m\n    fwmark: 0\n", "services[0].fwmark", 4, &["`0`", "1..=4294967295"]);
    refused("version: 1\nservices:\n  - name: m\n    fwmark: 4294967296\n", "services[0].fwmark", 4, &["fwmark"]);
    refused(
        "version: 1\nservices:\n  - name: m\n    fwmark: 1\n    port: 80\n",
        "services[0].port",
        5,
        &["fwmark service"],
    );
    refused(
        "version: 1\nservices:\n  - name: m\n    fwmark: 1\n    protocol: udp\n",
        "services[0].protocol",
        5,
        &["fwmark service"],
    );
    refused(
        "version: 1\nservices:\n  - name: m\n    fwmark: 1\n    family: inet6\n",
        "services[0].family",
        5,
        &["`inet6`", "`ipv6`"],
    );
}

#[test]
fn family_must_agree_with_the_vip() {
    refused(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    family: ipv6\n",
        "services[0].family",
        6,
        &["`ipv6`", "contradicts", "IPv4"],
    );
    accepted("version: 1\nservices:\n  - name: web\n    vip: 2001:db8::1\n    port: 80\n    family: ipv6\n");
}
