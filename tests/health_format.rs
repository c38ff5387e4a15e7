//! The health keys of the file format: `health` (on a service, overridden per real server),
//! `min_healthy`, `fallback`, `drain_timeout`. Every default, every override rule, and every
//! mistake a user would make, refused with its YAML path, line, bad value and what is valid.

use std::net::IpAddr;
use std::time::Duration;

use lvsync::health::spec::{Check, Dns, Exec, Http, Kind, MinHealthy, OnFailure, RecordType, ServiceHealth, Tls, Udp};
use lvsync::model::{Diagnostic, load};
use lvsync::state::RealKey;

fn yaml(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent =
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    text.lines().map(|l| if l.len() >= indent { &l[indent..] } else { l.trim_start() }).collect::<Vec<_>>().join("\n")
        + "\n"
}

/// A file of one service `web` (192.168.2.110:80) whose service-level keys are `service` and
/// whose two real servers .106 and .107 carry `real0`/`real1` (extra keys, may be empty).
fn web(service: &str, real0: &str, real1: &str) -> String {
    let indent = |s: &str, n: usize| s.lines().map(|l| format!("{}{l}\n", " ".repeat(n))).collect::<String>();
    format!(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n{}    real_servers:\n      - address: 192.168.2.106\n{}      - address: 192.168.2.107\n{}",
        indent(service, 4),
        indent(real0, 8),
        indent(real1, 8)
    )
}

#[track_caller]
fn refused(text: &str, path: &str, line: usize, words: &[&str]) -> Diagnostic {
    let d = match load(text) {
        Ok(_) => panic!("accepted, expected an error at {path}:\n{text}"),
        Err(d) => d,
    };
    let rendered = d.render("t.yaml");
    assert_eq!(d.len(), 1, "expected exactly one problem, got:\n{rendered}\n{text}");
    let e = &d.0[0];
    assert_eq!(e.path, path, "{rendered}");
    assert_eq!(e.line, Some(line), "{rendered}\n{text}");
    for w in words {
        assert!(e.message.contains(w), "message lacks {w:?}: {rendered}");
    }
    e.clone()
}

#[track_caller]
fn health(text: &str) -> ServiceHealth {
    let c = load(text).unwrap_or_else(|d| panic!("refused:\n{}\n{text}", d.render("t.yaml")));
    c.services[0].health.clone()
}

fn key(addr: &str, port: u16) -> RealKey {
    RealKey { address: addr.parse::<IpAddr>().unwrap(), port }
}

fn check<'a>(h: &'a ServiceHealth, addr: &str) -> &'a Check {
    h.checks.get(&key(addr, 80)).unwrap_or_else(|| panic!("no check for {addr}: {h:?}"))
}

#[test]
fn a_file_without_health_keys_means_what_it_did_with_the_drain_default() {
    let h = health(&web("", "", ""));
    assert!(h.checks.is_empty());
    assert_eq!(h.min_healthy, MinHealthy::Count(0));
    assert_eq!(h.fallback, None);
    assert_eq!(h.drain_timeout, Duration::from_secs(60));
}

#[test]
fn an_empty_health_block_is_a_tcp_check_with_every_default() {
    let h = health(&web("health: {}\n", "", ""));
    let c = check(&h, "192.168.2.106");
    assert_eq!(c.on_failure, OnFailure::Quiesce);
    let t = &c.target;
    assert_eq!((t.kind.clone(), t.port), (Kind::Tcp, 80));
    assert_eq!((t.interval, t.timeout, t.rise, t.fall), (Duration::from_secs(5), Duration::from_secs(2), 2, 3));
    assert_eq!(check(&h, "192.168.2.107").target.address, "192.168.2.107".parse::<IpAddr>().unwrap());
}

#[test]
fn a_real_server_replaces_only_the_keys_it_names_and_none_turns_probing_off() {
    let service = "health:\n  check: http\n  port: 8080\n  interval: 0.5\n  timeout: 0.25\n  fall: 1\n  on_failure: remove\n  http: {path: /healthz, status: 200, body: ok}\n";
    let h = health(&web(service, "health: {check: tcp, rise: 4}\n", "health: {check: none}\n"));
    let c = check(&h, "192.168.2.106");
    let t = &c.target;
    assert_eq!(t.kind, Kind::Tcp, "the real server's check replaces the service's");
    assert_eq!((t.port, t.interval, t.timeout), (8080, Duration::from_millis(500), Duration::from_millis(250)));
    assert_eq!((t.rise, t.fall, c.on_failure), (4, 1, OnFailure::Remove));
    assert!(!h.checks.contains_key(&key("192.168.2.107", 80)), "{{check: none}} turns probing off: {h:?}");

    let h = health(&web(service, "", "health: {http: {path: /other}}\n"));
    let http = Http {
        path: "/healthz".into(),
        host: None,
        status: vec![(200, 200)],
        body: Some("ok".into()),
        keep_alive: false,
    };
    assert_eq!(check(&h, "192.168.2.106").target.kind, Kind::Http(http));
    let other = Http { path: "/other".into(), host: None, status: vec![(200, 399)], body: None, keep_alive: false };
    assert_eq!(check(&h, "192.168.2.107").target.kind, Kind::Http(other), "a sub-table is replaced whole");
}

#[test]
fn every_check_kind_resolves_with_its_sub_keys_and_defaults() {
    let h = health(&web(
        "health: {check: https, http: {host: www.example.com, status: \"200,301-302\"}}\n",
        "health: {check: udp, udp: {send: ping, expect: pong}}\n",
        "health: {check: dns, port: 53, dns: {name: example.com, type: AAAA}}\n",
    ));
    let http = Http {
        path: "/".into(),
        host: Some("www.example.com".into()),
        status: vec![(200, 200), (301, 302)],
        body: None,
        keep_alive: false,
    };
    let tls = Tls { verify: true, sni: Some("www.example.com".into()) };
    // Only the real servers with their own block differ; a third real server would inherit https.
    assert_eq!(
        check(&h, "192.168.2.106").target.kind,
        Kind::Udp(Udp { send: b"ping".to_vec(), expect: Some(b"pong".to_vec()) })
    );
    let dns = check(&h, "192.168.2.107");
    assert_eq!(dns.target.kind, Kind::Dns(Dns { name: "example.com".into(), record: RecordType::Aaaa }));
    assert_eq!(dns.target.port, 53);

    let h = health(&web("health: {check: https, http: {host: www.example.com, status: \"200,301-302\"}}\n", "", ""));
    assert_eq!(check(&h, "192.168.2.106").target.kind, Kind::Https(http, tls));

    let h = health(&web("health: {check: https, tls: {verify: false, sni: api.example.com}}\n", "", ""));
    let Kind::Https(_, tls) = &check(&h, "192.168.2.106").target.kind else { panic!() };
    assert_eq!(tls, &Tls { verify: false, sni: Some("api.example.com".into()) });

    let h = health(&web(
        "health:\n  check: exec\n  exec: {command: [/usr/local/lib/check, \"{address}\", \"--port={port}\"]}\n",
        "",
        "",
    ));
    let Kind::Exec(exec) = &check(&h, "192.168.2.107").target.kind else { panic!() };
    assert_eq!(
        exec,
        &Exec { command: vec!["/usr/local/lib/check".into(), "{address}".into(), "--port={port}".into()] }
    );
    assert_eq!(exec.argv("192.168.2.107".parse().unwrap(), 80), ["/usr/local/lib/check", "192.168.2.107", "--port=80"]);
}

#[test]
fn a_short_interval_gets_a_default_timeout_below_it() {
    let h = health(&web("health: {interval: 1}\n", "", ""));
    assert_eq!(check(&h, "192.168.2.106").target.timeout, Duration::from_millis(500));
}

#[test]
fn min_healthy_fallback_and_drain_timeout_resolve() {
    let h = health(&web("min_healthy: \"50%\"\nfallback: {address: 192.168.2.120}\ndrain_timeout: 2.5\n", "", ""));
    assert_eq!(h.min_healthy, MinHealthy::Percent(50));
    assert_eq!(h.min_healthy.of(3), 2, "a percentage rounds up");
    let (fk, fr) = h.fallback.unwrap();
    assert_eq!((fk, fr.weight), (key("192.168.2.120", 80), 1));
    assert_eq!(h.drain_timeout, Duration::from_millis(2500));
    let h = health(&web("min_healthy: 1\ndrain_timeout: 0\n", "", ""));
    assert_eq!((h.min_healthy, h.drain_timeout), (MinHealthy::Count(1), Duration::ZERO));
}

#[test]
fn equal_settings_on_two_services_make_one_target() {
    let text = yaml(
        "
        version: 1
        services:
          - name: a
            vip: 192.168.2.110
            port: 80
            health: {check: http, interval: 2}
            real_servers: [{address: 192.168.2.106}]
          - name: b
            vip: 192.168.2.111
            port: 80
            health: {check: http, interval: 2, on_failure: remove}
            real_servers: [{address: 192.168.2.106}]
        ",
    );
    let c = load(&text).unwrap();
    let (a, b) = (
        &c.services[0].health.checks[&key("192.168.2.106", 80)],
        &c.services[1].health.checks[&key("192.168.2.106", 80)],
    );
    assert_eq!(a.target, b.target, "on_failure is the service's choice, not part of what is probed");
}

// ---------------------------------------------------------------- refused

#[test]
fn an_unknown_key_in_health_is_refused() {
    refused(
        &web("health: {check: tcp, intreval: 2}\n", "", ""),
        "services[0].health.intreval",
        6,
        &["unknown key `intreval`"],
    );
}

#[test]
fn an_unknown_check_is_refused_with_the_valid_ones() {
    refused(
        &web("health: {check: HTTP}\n", "", ""),
        "services[0].health.check",
        6,
        &["`HTTP`", "`tcp`", "`exec`", "`none`", "did you mean `http`?"],
    );
}

#[test]
fn a_timeout_not_below_the_interval_is_refused_at_the_timeout() {
    refused(
        &web("health:\n  interval: 1\n  timeout: 1\n", "", ""),
        "services[0].health.timeout",
        8,
        &["`1`", "below the interval (1 s"],
    );
    // The real server's timeout against the service's interval: reported at the real server's.
    refused(
        &web("health: {interval: 2}\n", "health: {timeout: 3}\n", ""),
        "services[0].real_servers[0].health.timeout",
        9,
        &["`3`", "below the interval (2 s, at services[0].health.interval)"],
    );
    refused(
        &web("health: {timeout: 5}\n", "", ""),
        "services[0].health.timeout",
        6,
        &["`5`", "default interval (5 s)"],
    );
}

#[test]
fn bad_numbers_are_refused_with_their_ranges() {
    refused(
        &web("health: {interval: 0}\n", "", ""),
        "services[0].health.interval",
        6,
        &["`0`", "0.05..=3600", "fractions"],
    );
    refused(&web("health: {rise: 0}\n", "", ""), "services[0].health.rise", 6, &["`0`", "1..=1000"]);
    refused(&web("health: {fall: 5000}\n", "", ""), "services[0].health.fall", 6, &["`5000`", "1..=1000"]);
    refused(&web("health: {port: 70000}\n", "", ""), "services[0].health.port", 6, &["`70000`", "1..=65535"]);
    refused(
        &web("health: {on_failure: delete}\n", "", ""),
        "services[0].health.on_failure",
        6,
        &["`delete`", "`quiesce`", "`remove`"],
    );
    refused(&web("drain_timeout: -1\n", "", ""), "services[0].drain_timeout", 6, &["`-1`", "0..=604800"]);
    refused(&web("min_healthy: \"150%\"\n", "", ""), "services[0].min_healthy", 6, &["`150%`", "0%..100%"]);
    refused(&web("min_healthy: many\n", "", ""), "services[0].min_healthy", 6, &["`many`", "count", "\"50%\""]);
}

/// Durations read as the other numbers of the file do: quoted is accepted, a leading zero
/// (`010`: octal to YAML 1.1, decimal to YAML 1.2) is refused, and so is a unit or a list, each
/// at the value with what to write instead.
#[test]
fn durations_are_read_like_the_other_numbers() {
    let h = health(&web("health: {interval: \"2\", timeout: \"0.5\"}\ndrain_timeout: \"60\"\n", "", ""));
    assert_eq!(check(&h, "192.168.2.106").target.interval, Duration::from_secs(2));
    assert_eq!(check(&h, "192.168.2.106").target.timeout, Duration::from_millis(500));
    assert_eq!(h.drain_timeout, Duration::from_secs(60));
    // Block style, read by the fast reader first.
    let h = health(&web("health:\n  interval: \"0.25\"\n", "", ""));
    assert_eq!(check(&h, "192.168.2.106").target.interval, Duration::from_millis(250));

    let at_value = |service: &str, path: &str, words: &[&str]| {
        let d = refused(&web(service, "", ""), path, 6, words);
        assert!(d.column.is_some_and(|c| c > 5), "not at the value: {d:?}");
    };
    at_value("health: {interval: 010}\n", "services[0].health.interval", &["`010`", "leading zero", "write `10`"]);
    at_value("drain_timeout: 060\n", "services[0].drain_timeout", &["`060`", "octal", "write `60`"]);
    at_value("health: {timeout: \"00.5\"}\n", "services[0].health.timeout", &["`00.5`", "write `0.5`"]);
    at_value("health: {interval: 2s}\n", "services[0].health.interval", &["`2s`", "0.05..=3600", "without a unit"]);
    at_value("health: {interval: .nan}\n", "services[0].health.interval", &["`.nan`", "0.05..=3600"]);
    at_value("health: {interval: 1e999}\n", "services[0].health.interval", &["too large", "infinite", "0.05..=3600"]);
    at_value("drain_timeout: -.inf\n", "services[0].drain_timeout", &["an infinite number", "0..=604800"]);
    at_value("min_healthy: 02\n", "services[0].min_healthy", &["`02`", "write `2`"]);
    at_value("health: {http: {status: \"0200\"}}\n", "services[0].health.http.status", &["`0200`", "write `200`"]);
    let d = refused(
        &web("health: {http: {status: [200, 301]}}\n", "", ""),
        "services[0].health.http.status",
        6,
        &["expected a status code", "not a list"],
    );
    assert!(!d.message.contains("key: value"), "{d:?}");
}

#[test]
fn a_sub_key_of_another_check_kind_is_refused() {
    refused(
        &web("health: {check: tcp, http: {path: /}}\n", "", ""),
        "services[0].health.http",
        6,
        &["`http` only applies to `check: http` or `check: https`", "`tcp`"],
    );
    refused(
        &web("health: {check: http, tls: {verify: false}}\n", "", ""),
        "services[0].health.tls",
        6,
        &["`check: https`", "`http`"],
    );
    // A real server that switches to tcp inherits the http keys silently, but may not write them.
    refused(
        &web("health: {check: http}\n", "health: {check: tcp, http: {path: /x}}\n", ""),
        "services[0].real_servers[0].health.http",
        9,
        &["`tcp`"],
    );
    health(&web("health: {check: http, http: {path: /x}}\n", "health: {check: tcp}\n", ""));
}

#[test]
fn a_check_missing_its_required_sub_key_is_refused_once() {
    refused(
        &web("health: {check: udp}\n", "", ""),
        "services[0].health.check",
        6,
        &["`check: udp` needs `udp`", "send"],
    );
    refused(&web("health: {check: dns, dns: {type: A}}\n", "", ""), "services[0].health.dns", 6, &["needs `name`"]);
    refused(
        &web("health: {check: udp, udp: {expect: pong}}\n", "", ""),
        "services[0].health.udp",
        6,
        &["needs `send`"],
    );
    refused(
        &web("health: {check: exec, exec: {command: []}}\n", "", ""),
        "services[0].health.exec",
        6,
        &["needs `command`"],
    );
}

#[test]
fn exec_commands_are_argv_without_a_shell_and_known_placeholders() {
    refused(
        &web("health: {check: exec, exec: {command: [\"/bin/check {address}\"]}}\n", "", ""),
        "services[0].health.exec.command[0]",
        6,
        &["`/bin/check {address}`", "no shell", "own list item"],
    );
    refused(
        &web("health: {check: exec, exec: {command: [/bin/check, \"{host}\"]}}\n", "", ""),
        "services[0].health.exec.command[1]",
        6,
        &["`{host}`", "`{address}` or `{port}`"],
    );
    refused(
        &web("health: {check: exec, exec: {command: [\"\", x]}}\n", "", ""),
        "services[0].health.exec.command[0]",
        6,
        &["the program is empty", "path of the program"],
    );
}

#[test]
fn http_values_are_checked() {
    refused(
        &web("health: {check: http, http: {path: healthz}}\n", "", ""),
        "services[0].health.http.path",
        6,
        &["`healthz`", "absolute path"],
    );
    refused(
        &web("health: {check: http, http: {status: \"200-99\"}}\n", "", ""),
        "services[0].health.http.status",
        6,
        &["`200-99`", "100..599"],
    );
    refused(
        &web("health: {check: http, http: {status: 700}}\n", "", ""),
        "services[0].health.http.status",
        6,
        &["`700`"],
    );
    refused(
        &web("health: {check: https, tls: {sni: \"bad name\"}}\n", "", ""),
        "services[0].health.tls.sni",
        6,
        &["`bad name`", "DNS name"],
    );
    refused(
        &web("health: {check: dns, dns: {name: example.com, type: AXFR}}\n", "", ""),
        "services[0].health.dns.type",
        6,
        &["`AXFR`", "`AAAA`"],
    );
}

#[test]
fn a_port_zero_service_needs_a_probe_port() {
    let text = yaml(
        "
        version: 1
        services:
          - name: all
            vip: 192.168.2.110
            port: 0
            persistence: {timeout: 300}
            health: {check: tcp}
            real_servers: [{address: 192.168.2.106}, {address: 192.168.2.107}]
        ",
    );
    refused(
        &text,
        "services[0].health.check",
        7,
        &["a `tcp` check of real server `192.168.2.106:0` needs `port`", "port 0"],
    );
    let http = text.replace("{check: tcp}", "{check: http}");
    refused(&http, "services[0].health.check", 7, &["an `http` check of real server"]);
    health(&text.replace("{check: tcp}", "{check: tcp, port: 22}"));
    // An exec check that does not use `{port}` needs none.
    health(&text.replace("{check: tcp}", "{check: exec, exec: {command: [/bin/true, \"{address}\"]}}"));
}

#[test]
fn a_fallback_is_checked_like_a_real_server_and_may_not_be_one() {
    refused(
        &web("fallback: {address: 192.168.2.106}\n", "", ""),
        "services[0].fallback.address",
        6,
        &["`192.168.2.106:80` is already a real server"],
    );
    refused(
        &web("fallback: {address: 192.168.2.120, port: 8080}\n", "", ""),
        "services[0].fallback.port",
        6,
        &["`8080` differs from the service port"],
    );
    refused(&web("fallback: {address: not-an-ip}\n", "", ""), "services[0].fallback.address", 6, &["`not-an-ip`"]);
    refused(
        &web("fallback: {address: 192.168.2.120, weight: 3}\n", "", ""),
        "services[0].fallback.weight",
        6,
        &["unknown key `weight`"],
    );
}
