//! Parse errors and the top level of the file.

use super::*;

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
    // Another form of a valid key's word (`forwarding` for `forward`, as ipvsadm's docs say it).
    refused(
        "version: 1\nservices:\n  - name: web\n    fwmark: 1\n    forwarding: dr\n",
        "services[0].forwarding",
        5,
        &["unknown key `forwarding`", "did you mean `forward`?"],
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
