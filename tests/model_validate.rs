//! Every rule of the file format, each broken the way a new user would break it: the error
//! names the YAML path, the line, the bad value and what would be valid.

use lvsync::model::{Diagnostic, load};

/// Test files are written indented in the source; strip the common indentation.
fn yaml(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent =
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    text.lines().map(|l| if l.len() >= indent { &l[indent..] } else { l.trim_start() }).collect::<Vec<_>>().join("\n")
        + "\n"
}

/// The file is refused with exactly one problem, at `path` on `line`, whose message holds `words`.
#[track_caller]
fn refused(text: &str, path: &str, line: usize, words: &[&str]) -> Diagnostic {
    let text = yaml(text);
    let d = match load(&text) {
        Ok(_) => panic!("accepted, expected an error at {path}:\n{text}"),
        Err(d) => d,
    };
    let rendered = d.render("t.yaml");
    assert_eq!(d.len(), 1, "expected exactly one problem, got:\n{rendered}");
    let e = &d.0[0];
    assert_eq!(e.path, path, "{rendered}");
    assert_eq!(e.line, Some(line), "{rendered}");
    assert!(e.column.is_some_and(|c| c >= 1), "{rendered}");
    for w in words {
        assert!(e.message.contains(w), "message lacks {w:?}: {rendered}");
    }
    e.clone()
}

#[track_caller]
fn accepted(text: &str) -> lvsync::model::Config {
    let text = yaml(text);
    load(&text).unwrap_or_else(|d| panic!("refused:\n{}\n{text}", d.render("t.yaml")))
}

// ---------------------------------------------------------------- parse errors

#[test]
fn unknown_key_is_refused_with_the_valid_keys() {
    refused(
        "
        version: 1
        services:
          - name: web
            vip: 192.168.2.110
            port: 80
            real_server:
              - address: 192.168.2.106
        ",
        "services[0].real_server",
        6,
        &["unknown key `real_server`", "did you mean `real_servers`?"],
    );
    refused(
        "version: 1\nservices:\n  - name: web\n    fwmark: 1\n    real_servers:\n      - {address: 10.0.0.1, wieght: 3}\n",
        "services[0].real_servers[0].wieght",
        6,
        &["did you mean `weight`?"],
    );
    let e = refused(
        "version: 1\nservices:\n  - name: web\n    fwmark: 1\n    colour: blue\n",
        "services[0].colour",
        5,
        &["unknown key `colour`", "real_servers"],
    );
    assert!(!e.message.contains("did you mean"), "{}", e.message);
}

#[test]
fn duplicate_key_is_refused() {
    refused(
        "
        version: 1
        services:
          - name: web
            vip: 192.168.2.110
            port: 80
            port: 8080
        ",
        "services[0].port",
        6,
        &["duplicate key `port`"],
    );
}

#[test]
fn wrong_type_is_refused_at_its_value() {
    let e = refused(
        "
        version: 1
        services:
          - name: web
            vip: 192.168.2.110
            port: 80
            real_servers:
              - address: 192.168.2.106
                weight: heavy
        ",
        "services[0].real_servers[0].weight",
        8,
        &["whole number"],
    );
    assert_eq!(e.column, Some(17));
}

#[test]
fn missing_required_key_names_the_mapping() {
    refused(
        "
        version: 1
        services:
          - vip: 192.168.2.110
            port: 80
        ",
        "services[0]",
        3,
        &["`name`", "missing"],
    );
    refused("services: []\n", "", 1, &["`version`", "missing"]);
}

#[test]
fn broken_yaml_and_odd_documents_give_a_position() {
    let e = refused(
        "
        version: 1
        services:
          - name: web
            vip: [192.168.2.110
        ",
        "services[0].vip",
        4,
        &[],
    );
    assert!(!e.message.is_empty());
    refused("", "", 1, &["empty", "version: 1"]);
    refused("# only a comment\n", "", 1, &["empty"]);
    refused("version: 1\n---\nversion: 1\n", "", 3, &["more than one YAML document"]);
    refused("- 1\n- 2\n", "", 1, &[]);
}

#[test]
fn type_errors_show_what_they_found() {
    refused(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    real_servers:\n",
        "services[0].real_servers",
        6,
        &["expected a list", "`[]` for none", "found an empty value"],
    );
    refused(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    real_servers:\n      address: 10.0.0.1\n",
        "services[0].real_servers",
        7,
        &["expected a list", "found `key: value` entries"],
    );
    refused(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    real_servers:\n      - 10.0.0.1\n",
        "services[0].real_servers[0]",
        7,
        &["expected `key: value` entries", "found `10.0.0.1`"],
    );
    refused(
        "version: 1\nfirewall:\n  - name: x\n    action: accept\n    sources: 10.0.0.0/8\n",
        "firewall[0].sources",
        5,
        &["found `10.0.0.0/8`"],
    );
    refused(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80.5\n",
        "services[0].port",
        5,
        &["whole number", "found `80.5`"],
    );
}

#[test]
fn booleans_are_true_or_false_only() {
    // YAML 1.1's `yes` is a classic trap; the file format is strict.
    refused(
        "
        version: 1
        services:
          - name: dns
            vip: 192.168.2.110
            port: 53
            protocol: udp
            one_packet: yes
        ",
        "services[0].one_packet",
        7,
        &["`true` or `false`", "found `yes`"],
    );
}

// ---------------------------------------------------------------- top level

#[test]
fn version_must_be_1() {
    refused("version: 2\n", "version", 1, &["`2`", "version: 1"]);
}

#[test]
fn ownership_is_managed_or_exclusive() {
    refused(
        "version: 1\nownership: Exclusive\n",
        "ownership",
        2,
        &["`Exclusive`", "`managed`", "did you mean `exclusive`"],
    );
}

#[test]
fn timeouts_are_positive_and_bounded() {
    refused("version: 1\nipvs:\n  timeouts: {tcp: 0}\n", "ipvs.timeouts.tcp", 3, &["`0`", "1..=2147483"]);
    refused("version: 1\nipvs:\n  timeouts:\n    udp: 9999999999\n", "ipvs.timeouts.udp", 4, &["`9999999999`"]);
}

// ---------------------------------------------------------------- services: identity

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

// ---------------------------------------------------------------- services: attributes

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

// ---------------------------------------------------------------- tunnels

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

// ---------------------------------------------------------------- real servers

#[test]
fn real_server_addresses_are_unicast_hosts() {
    for (address, words) in [
        ("10.0.0.256", &["`10.0.0.256`", "IPv4 or IPv6"][..]),
        ("10.0.0.2:80", &["without a port"][..]),
        ("0.0.0.0", &["unspecified"][..]),
        ("239.1.1.1", &["multicast"][..]),
        ("255.255.255.255", &["broadcast"][..]),
        ("127.0.0.1", &["loopback"][..]),
        ("::1", &["loopback"][..]),
        ("192.168.2.110", &["own vip"][..]),
    ] {
        let text = format!(
            "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    real_servers:\n      - address: \"{address}\"\n"
        );
        // `::1` is IPv6 in an IPv4 service as well: the family problem is a second error.
        let text_ok = !matches!(address, "::1");
        if text_ok {
            refused(&text, "services[0].real_servers[0].address", 7, words);
        } else {
            let d = load(&text).unwrap_err();
            assert!(d.iter().any(|e| e.message.contains("loopback")), "{}", d.render("t"));
        }
    }
}

#[test]
fn duplicate_real_servers_are_refused() {
    refused(
        "
        version: 1
        services:
          - name: web
            vip: 192.168.2.110
            port: 80
            real_servers:
              - address: 192.168.2.106
              - address: 192.168.2.107
              - address: 192.168.2.106
                port: 80
        ",
        "services[0].real_servers[2].address",
        9,
        &["`192.168.2.106:80`", "twice", "services[0].real_servers[0]"],
    );
    // Same address, other port (NAT): two real servers.
    accepted(
        "version: 1\nservices:\n  - name: w\n    vip: 192.168.2.110\n    port: 80\n    forward: nat\n    real_servers:\n      - {address: 10.0.0.2}\n      - {address: 10.0.0.2, port: 8080}\n",
    );
}

#[test]
fn families_mix_only_through_tun() {
    refused(
        "
        version: 1
        services:
          - name: web
            vip: 192.168.2.110
            port: 80
            real_servers:
              - address: 2001:db8::6
        ",
        "services[0].real_servers[0].address",
        7,
        &["`2001:db8::6`", "IPv6", "IPv4", "forward: tun"],
    );
    accepted(
        "version: 1\nservices:\n  - name: w\n    vip: 192.168.2.110\n    port: 80\n    real_servers:\n      - {address: 2001:db8::6, forward: tun}\n",
    );
    refused(
        "version: 1\nservices:\n  - name: m\n    fwmark: 5\n    family: ipv6\n    real_servers:\n      - address: 10.0.0.1\n",
        "services[0].real_servers[0].address",
        7,
        &["IPv4", "IPv6"],
    );
}

#[test]
fn weight_is_0_to_i32_max() {
    let e = refused(
        "
        version: 1
        services:
          - name: web
            vip: 192.168.2.110
            port: 80
            real_servers:
              - address: 192.168.2.106
              - address: 192.168.2.107
                weight: -3
        ",
        "services[0].real_servers[1].weight",
        9,
        &["`-3` is not a valid weight", "0..=2147483647"],
    );
    assert_eq!(e.column, Some(17));
    refused(
        "version: 1\nservices:\n  - name: w\n    vip: 192.168.2.110\n    port: 80\n    real_servers:\n      - {address: 10.0.0.2, weight: 2147483648}\n",
        "services[0].real_servers[0].weight",
        7,
        &["`2147483648`"],
    );
}

#[test]
fn thresholds_are_a_sensible_pair() {
    refused(
        "version: 1\nservices:\n  - name: w\n    vip: 192.168.2.110\n    port: 80\n    real_servers:\n      - address: 10.0.0.2\n        upper_threshold: 100\n        lower_threshold: 200\n",
        "services[0].real_servers[0].lower_threshold",
        9,
        &["`200`", "must not exceed `upper_threshold` (100)"],
    );
    refused(
        "version: 1\nservices:\n  - name: w\n    vip: 192.168.2.110\n    port: 80\n    real_servers:\n      - address: 10.0.0.2\n        lower_threshold: 50\n",
        "services[0].real_servers[0].lower_threshold",
        8,
        &["`50`", "never applies"],
    );
    refused(
        "version: 1\nservices:\n  - name: w\n    vip: 192.168.2.110\n    port: 80\n    real_servers:\n      - {address: 10.0.0.2, upper_threshold: -1}\n",
        "services[0].real_servers[0].upper_threshold",
        7,
        &["`-1`", "0..=4294967295"],
    );
}

#[test]
fn dr_and_tun_keep_the_service_port() {
    refused(
        "
        version: 1
        services:
          - name: web
            vip: 192.168.2.110
            port: 80
            real_servers:
              - address: 192.168.2.106
                port: 8080
        ",
        "services[0].real_servers[0].port",
        8,
        &["`8080`", "service port 80", "forward: nat"],
    );
    let c = accepted(
        "version: 1\nservices:\n  - name: w\n    vip: 192.168.2.110\n    port: 80\n    forward: nat\n    real_servers:\n      - {address: 10.0.0.2, port: 8080}\n",
    );
    assert_eq!(c.services[0].service.reals.keys().next().unwrap().port, 8080);
}

// ---------------------------------------------------------------- firewall

const WEB: &str = "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\nfirewall:\n";

#[test]
fn rule_names_follow_the_pattern() {
    for (name, word) in [("Web-In", "must start"), ("web in", "may only hold"), ("web\\\"in", "may only hold")] {
        let text = format!("{WEB}  - name: \"{name}\"\n    action: accept\n");
        refused(&text, "firewall[0].name", 7, &[word, "[a-z0-9][a-z0-9._-]{0,40}"]);
    }
    let text = format!("{WEB}  - name: {}\n    action: accept\n", "r".repeat(42));
    refused(&text, "firewall[0].name", 7, &["42 characters", "limit is 41"]);
}

#[test]
fn duplicate_rule_names_are_refused() {
    let text =
        format!("{WEB}  - name: web-in\n    action: accept\n    service: web\n  - name: web-in\n    action: drop\n");
    refused(&text, "firewall[1].name", 10, &["`web-in`", "twice", "firewall[0]"]);
}

#[test]
fn action_and_chain_are_known_words() {
    refused(
        &format!("{WEB}  - name: r\n    action: allow\n"),
        "firewall[0].action",
        8,
        &["`allow`", "`accept`", "`drop`", "`reject`"],
    );
    refused(&format!("{WEB}  - name: r\n    action: ACCEPT\n"), "firewall[0].action", 8, &["did you mean `accept`"]);
    refused(
        &format!("{WEB}  - name: r\n    action: drop\n    chain: output\n"),
        "firewall[0].chain",
        9,
        &["`output`", "`input`", "`forward`"],
    );
}

#[test]
fn service_and_destination_are_exclusive() {
    let text = format!("{WEB}  - name: r\n    action: accept\n    service: web\n    destination: 192.168.2.110/32\n");
    refused(&text, "firewall[0].destination", 10, &["`service` and `destination` together"]);
}

#[test]
fn port_and_protocol_come_from_the_service() {
    refused(
        &format!("{WEB}  - name: r\n    action: accept\n    service: web\n    port: 443\n"),
        "firewall[0].port",
        10,
        &["comes from the service `web`"],
    );
    refused(
        &format!("{WEB}  - name: r\n    action: accept\n    service: web\n    protocol: udp\n"),
        "firewall[0].protocol",
        10,
        &["comes from the service"],
    );
}

#[test]
fn a_port_needs_a_protocol() {
    let text = format!("{WEB}  - name: ssh\n    action: accept\n    destination: 192.168.2.1\n    port: 22\n");
    refused(&text, "firewall[0].port", 10, &["`22`", "needs `protocol`"]);
    refused(
        &format!("{WEB}  - name: r\n    action: accept\n    protocol: tcp\n    port: 0\n"),
        "firewall[0].port",
        10,
        &["`0`", "1..=65535"],
    );
    refused(
        &format!("{WEB}  - name: r\n    action: accept\n    protocol: icmp\n"),
        "firewall[0].protocol",
        9,
        &["`icmp`"],
    );
}

#[test]
fn a_rule_must_name_an_existing_service() {
    let text = format!("{WEB}  - name: r\n    action: accept\n    service: www\n");
    refused(&text, "firewall[0].service", 9, &["`www`", "not a service", "`web`"]);
}

#[test]
fn a_rule_holds_one_family() {
    refused(
        &format!(
            "{WEB}  - name: r\n    action: drop\n    destination: 192.168.2.110/32\n    sources: [10.0.0.0/8, 2001:db8::/32]\n"
        ),
        "firewall[0].sources[1]",
        10,
        &["mixes IPv4", "IPv6", "split"],
    );
    refused(
        &format!("{WEB}  - name: r\n    action: accept\n    service: web\n    sources:\n      - 2001:db8::/32\n"),
        "firewall[0].sources[0]",
        11,
        &["IPv4 (`firewall[0].service`)", "IPv6"],
    );
}

#[test]
fn addresses_in_rules_are_networks() {
    refused(
        &format!("{WEB}  - name: r\n    action: drop\n    destination: 192.168.2.110/24\n"),
        "firewall[0].destination",
        9,
        &["`192.168.2.110/24`", "host bits"],
    );
    refused(
        &format!("{WEB}  - name: r\n    action: drop\n    sources: [office]\n"),
        "firewall[0].sources[0]",
        9,
        &["`office`", "192.168.0.0/16"],
    );
}

#[test]
fn a_service_is_matched_in_the_input_chain() {
    refused(
        &format!("{WEB}  - name: r\n    action: accept\n    service: web\n    chain: forward\n"),
        "firewall[0].service",
        9,
        &["`input`", "never in `forward`"],
    );
}

// ---------------------------------------------------------------- all at once

#[test]
fn every_problem_of_a_file_is_reported_at_once_in_file_order() {
    let text = yaml(
        "
        version: 1
        services:
          - name: Web
            vip: 192.168.2.300
            port: 80
            scheduler: roundrobin
            real_servers:
              - address: 192.168.2.106
                weight: -3
              - address: 192.168.2.106
          - name: dns
            vip: 192.168.2.110
            port: 53
            protocol: udp
            forward: tun
            tunnel: {type: gue}
        firewall:
          - name: web-in
            action: allow
            service: nothing
        ",
    );
    let d = load(&text).unwrap_err();
    let rendered = d.render("seed.yaml");
    let paths: Vec<&str> = d.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "services[0].name",
            "services[0].vip",
            "services[0].scheduler",
            "services[0].real_servers[0].weight",
            "services[0].real_servers[1].address",
            "services[1].tunnel",
            "firewall[0].action",
        ],
        "{rendered}"
    );
    let lines: Vec<usize> = d.iter().map(|e| e.line.unwrap()).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{rendered}");
    assert_eq!(rendered.lines().count(), 7);
    assert!(
        rendered.contains(
            "seed.yaml:9:17: services[0].real_servers[0].weight: `-3` is not a valid weight; expected an integer 0..=2147483647\n"
        ),
        "{rendered}"
    );
}

#[test]
fn a_rule_naming_a_broken_service_is_not_reported_twice() {
    let text = format!("{}  - name: r\n    action: accept\n    service: web\n", WEB.replace("port: 80", "port: 99999"));
    let d = load(&text).unwrap_err();
    assert_eq!(d.len(), 1, "{}", d.render("t"));
    assert_eq!(d.0[0].path, "services[0].port");
}

// ---------------------------------------------------------------- defaults and intents

#[test]
fn defaults_are_applied() {
    use lvsync::state::{Family, Forward, Netmask, Protocol, ServiceKey, Tunnel, TunnelType};
    let c = accepted(
        "
        version: 1
        services:
          - name: web
            vip: 192.168.2.110
            port: 80
            persistence: {timeout: 30}
            real_servers:
              - address: 192.168.2.106
          - name: tunnelled
            vip: 192.168.2.111
            port: 443
            forward: tun
            tunnel: {type: gue, port: 6080}
            real_servers:
              - address: 10.1.0.6
              - address: 10.1.0.7
                tunnel: {type: gre}
              - address: 10.1.0.8
                forward: dr
          - name: marked
            fwmark: 9
        ",
    );
    assert_eq!(c.ownership, lvsync::state::Ownership::Managed);
    assert_eq!(c.timeouts, lvsync::state::Timeouts::default());
    let web = &c.services[0];
    assert_eq!(web.key, ServiceKey::Addr { protocol: Protocol::Tcp, vip: "192.168.2.110".parse().unwrap(), port: 80 });
    assert_eq!(web.service.name.as_deref(), Some("web"));
    assert_eq!(web.service.attrs.scheduler, lvsync::state::Scheduler::Wlc);
    assert_eq!(
        web.service.attrs.persistence.as_ref().unwrap().netmask,
        Netmask::V4("255.255.255.255".parse().unwrap())
    );
    let (k, r) = web.service.reals.iter().next().unwrap();
    assert_eq!((k.port, r.weight, r.forward, r.upper_threshold, r.lower_threshold), (80, 1, Forward::Dr, 0, 0));

    let tun = &c.services[1].service.reals;
    let gue = Tunnel { kind: TunnelType::Gue { port: 6080 }, checksum: Default::default() };
    let forwards: Vec<Forward> = tun.values().map(|r| r.forward).collect();
    assert_eq!(
        forwards,
        [Forward::Tun(gue), Forward::Tun(Tunnel { kind: TunnelType::Gre, checksum: Default::default() }), Forward::Dr]
    );
    assert_eq!(c.services[2].key, ServiceKey::Fwmark { family: Family::Ipv4, mark: 9 });
    assert!(c.services[2].service.reals.is_empty());
}

#[test]
fn firewall_intents_expand_services() {
    use lvsync::model::FirewallAction;
    use lvsync::state::{Family, Hook, Protocol};
    let c = accepted(
        "
        version: 1
        services:
          - {name: web6, vip: 2001:db8::10, port: 443}
          - {name: all, vip: 192.168.2.110, port: 0, protocol: udp, persistence: {timeout: 60}}
          - {name: marked, fwmark: 7, family: ipv6}
        firewall:
          - {name: web6-in, action: accept, service: web6, sources: [2001:db8:1::/48]}
          - {name: all-in, action: accept, service: all}
          - {name: marked-in, action: reject, service: marked}
          - {name: from-office, action: accept, sources: [192.168.0.0/16], chain: forward}
          - {name: any-tcp, action: drop, protocol: tcp}
        ",
    );
    let f = &c.firewall;
    assert_eq!(f[0].destination.unwrap().to_string(), "2001:db8::10/128");
    assert_eq!((f[0].protocol, f[0].port, f[0].family), (Some(Protocol::Tcp), Some(443), Some(Family::Ipv6)));
    assert_eq!(f[0].sources[0].to_string(), "2001:db8:1::/48");
    assert_eq!((f[1].protocol, f[1].port), (Some(Protocol::Udp), None));
    assert_eq!(
        (f[2].fwmark, f[2].family, f[2].destination, f[2].action),
        (Some(7), Some(Family::Ipv6), None, FirewallAction::Reject)
    );
    assert_eq!((f[3].hook, f[3].family), (Hook::Forward, Some(Family::Ipv4)));
    assert_eq!((f[4].family, f[4].protocol, f[4].hook), (None, Some(Protocol::Tcp), Hook::Input));
}

// ---------------------------------------------------------------- never panics

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    const TOKENS: &[&str] = &[
        "version",
        "services",
        "name",
        "vip",
        "port",
        "real_servers",
        "address",
        "weight",
        "firewall",
        "tunnel",
        "- ",
        ": ",
        "{",
        "}",
        "[",
        "]",
        ", ",
        "\n",
        "  ",
        "&a ",
        "*a",
        "<<",
        "1",
        "0",
        "-3",
        "99999999999999999999",
        "192.168.2.110",
        "::",
        "#",
        "'",
        "\"",
        "~",
        "!!str ",
        "? ",
        "|\n",
        ">-\n",
        "\t",
        "---\n",
        "...\n",
        "%YAML 1.2\n",
    ];

    fn examples() -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        files.into_iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn on_arbitrary_strings(text in ".{0,400}") {
            if let Err(d) = load(&text) {
                prop_assert_eq!(d.render("f.yaml").lines().count(), d.len());
            }
        }

        #[test]
        fn on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = load(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn on_yaml_shaped_noise(tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..80)) {
            let _ = load(&tokens.concat());
        }

        #[test]
        fn on_mutated_examples(
            which in 0usize..16,
            edits in proptest::collection::vec((any::<proptest::sample::Index>(), 0u8..4, any::<char>()), 1..8),
        ) {
            let all = examples();
            let mut text: Vec<char> = all[which % all.len()].chars().collect();
            for (at, kind, ch) in edits {
                if text.is_empty() { break; }
                let i = at.index(text.len());
                match kind {
                    0 => { text.remove(i); }
                    1 => text.insert(i, ch),
                    2 => text[i] = ch,
                    _ => { let line: Vec<char> = text[i..].iter().take_while(|c| **c != '\n').copied().collect(); text.splice(i..i, line); }
                }
            }
            let text: String = text.into_iter().collect();
            if let Err(d) = load(&text) {
                // Every problem comes with something to read.
                prop_assert!(d.iter().all(|e| !e.message.is_empty()));
                prop_assert!(!d.is_empty());
                prop_assert_eq!(d.render("f.yaml").lines().count(), d.len());
            }
        }
    }

    #[test]
    fn on_deep_nesting_and_alias_bombs() {
        let deep = format!("version: 1\nservices: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        assert!(load(&deep).is_err());
        let deep_map = format!("version: 1\nipvs: {}1{}\n", "{a: ".repeat(50_000), "}".repeat(50_000));
        assert!(load(&deep_map).is_err());
        let mut bomb = String::from("version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..20 {
            let prev = format!("*a{}", i - 1);
            bomb.push_str(&format!("a{i}: &a{i} [{}]\n", [prev.as_str(); 10].join(", ")));
        }
        assert!(load(&bomb).is_err());
        assert!(load("\u{feff}version: 1\n").is_ok());
        assert!(load("version: 1\r\nservices: []\r\n").is_ok());
    }
}

// ---------------------------------------------------------------- scale

/// Thousands of services: every one resolved, and every problem among them found.
#[test]
fn thousands_of_services_load_and_report_every_problem() {
    let n = 3000;
    let mut text = String::from("version: 1\nservices:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - name: svc-{i}\n    vip: 10.{}.{}.1\n    port: 80\n    real_servers:\n      - address: 192.168.{}.{}\n",
            i / 256,
            i % 256,
            i / 200,
            i % 200 + 2
        ));
    }
    text.push_str("firewall:\n");
    for i in 0..n {
        text.push_str(&format!("  - {{name: r{i}, action: accept, service: svc-{i}}}\n"));
    }
    let started = std::time::Instant::now();
    let c = load(&text).unwrap();
    assert_eq!((c.services.len(), c.firewall.len()), (n, n));
    // Generous: a debug build on a busy machine; release loads 5000 services in ~0.1 s.
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());

    let broken = text.replace("port: 80\n", "port: 80000\n");
    let d = load(&broken).unwrap_err();
    assert_eq!(d.len(), n);
    assert_eq!(d.0[n - 1].path, format!("services[{}].port", n - 1));
    assert_eq!(d.0[n - 1].line, Some(2 + 5 * (n - 1) + 3));
}
