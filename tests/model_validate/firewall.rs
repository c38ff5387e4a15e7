//! Firewall rules.

use super::*;

pub(crate) const WEB: &str = "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\nfirewall:\n";

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
