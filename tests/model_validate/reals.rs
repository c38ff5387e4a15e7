//! Real servers.

use super::*;

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
