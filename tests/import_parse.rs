//! `lvsync import` without a kernel: keepalived.conf's syntax, the conversion of each keyword,
//! ldirectord.cf, and what is reported as not converted (with its line).

use lvsync::import::{self, Node, Source, parse_keepalived};

fn keepalived(text: &str) -> import::Import {
    import::import(text, "keepalived.conf", Source::Keepalived)
}

fn ldirectord(text: &str) -> import::Import {
    import::import(text, "ldirectord.cf", Source::Ldirectord)
}

fn skipped(i: &import::Import) -> Vec<String> {
    i.skipped.iter().map(|s| s.render("k.conf")).collect()
}

#[test]
fn keepalived_syntax_nested_blocks_comments_and_quotes() {
    let mut problems = Vec::new();
    let nodes = parse_keepalived(
        "# a comment\n! another\nvirtual_server 10.0.0.1 80 { # trailing\n  lvs_sched rr ! also a comment\n  real_server 10.0.0.2 80 {\n    MISC_CHECK {\n      misc_path \"/bin/check a  b\"\n    }\n  }\n}\n",
        &mut problems,
    );
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(nodes.len(), 1);
    let vs = &nodes[0];
    assert_eq!(
        (vs.keyword.as_str(), vs.args.clone(), vs.line),
        ("virtual_server", vec!["10.0.0.1".into(), "80".into()], 3)
    );
    let children = vs.children();
    assert_eq!(children[0], Node { keyword: "lvs_sched".into(), args: vec!["rr".into()], line: 4, block: None });
    let misc = &children[1].children()[0];
    assert_eq!(misc.keyword, "MISC_CHECK");
    assert_eq!(
        misc.children()[0].args,
        vec!["/bin/check a  b".to_string()],
        "a quoted string is one word, spaces kept"
    );
    assert_eq!(misc.children()[0].line, 7);
}

#[test]
fn a_block_may_open_on_the_next_line() {
    let mut problems = Vec::new();
    let nodes = parse_keepalived("virtual_server 10.0.0.1 80\n{\n  lvs_sched rr\n}\n", &mut problems);
    assert!(problems.is_empty());
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0].children()[0].keyword, "lvs_sched");
}

#[test]
fn unbalanced_braces_and_open_quotes_are_reported_with_their_line() {
    let mut problems = Vec::new();
    let nodes = parse_keepalived("}\nvirtual_server 10.0.0.1 80 {\n  virtualhost \"open\n", &mut problems);
    let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
    assert_eq!(nodes.len(), 1);
    assert!(lines.contains(&1), "the stray `}}` on line 1: {problems:?}");
    assert!(lines.contains(&2), "the block of line 2 is never closed: {problems:?}");
    assert!(lines.contains(&3), "the quote on line 3 is never closed: {problems:?}");
}

#[test]
fn include_is_refused_and_unknown_keywords_are_reported_with_their_line() {
    let i = keepalived(
        "include /etc/keepalived/other.conf\nvirtual_server 10.0.0.1 80 {\n  protocol TCP\n  lvs_shed rr\n  real_server 10.0.0.2 80 {\n    wieght 3\n  }\n}\nfrobnicate\n",
    );
    let s = skipped(&i);
    assert_eq!(s.len(), 4, "{s:#?}");
    assert!(
        s[0].starts_with(
            "k.conf:1: `include /etc/keepalived/other.conf` not converted: included files are not followed"
        )
    );
    assert!(s[1].starts_with("k.conf:4: `lvs_shed rr` not converted: unknown keyword in virtual_server"), "{}", s[1]);
    assert!(s[2].starts_with("k.conf:6: `wieght 3` not converted"), "{}", s[2]);
    assert!(s[3].starts_with("k.conf:9: `frobnicate` not converted: unknown keyword"), "{}", s[3]);
    // The rest is still converted.
    assert!(i.text.contains("vip: \"10.0.0.1\""), "{}", i.text);
}

#[test]
fn keepalived_services_real_servers_and_persistence_convert() {
    let i = keepalived(
        "virtual_server 10.0.0.1 443 {\n  lb_algo wrr\n  lb_kind TUN type gue port 6080 remcsum\n  persistence_timeout\n  persistence_granularity 255.255.255.0\n  persistence_engine sip\n  protocol TCP\n  mh-port\n  real_server 10.0.0.2 443 {\n    weight 3\n    uthreshold 100\n    lthreshold 10\n  }\n  real_server 10.0.0.3 443 {\n    lvs_method DR\n  }\n}\n",
    );
    assert!(i.skipped.is_empty(), "{:?}", i.skipped);
    let expected = "services:
  - name: tcp-10-0-0-1-443
    vip: \"10.0.0.1\"
    port: 443
    protocol: tcp
    scheduler: wrr
    scheduler_flags:
      - mh-port
    persistence:
      timeout: 360
      netmask: \"255.255.255.0\"
      engine: sip
    real_servers:
      - address: \"10.0.0.2\"
        port: 443
        weight: 3
        forward: tun
        upper_threshold: 100
        lower_threshold: 10
        tunnel:
          type: gue
          port: 6080
          checksum: remcsum
      - address: \"10.0.0.3\"
        port: 443
        forward: dr
";
    assert!(i.text.ends_with(expected), "{}", i.text);
}

#[test]
fn keepalived_checks_convert_to_health() {
    let i = keepalived(
        "virtual_server 10.0.0.1 80 {\n  delay_loop 5\n  protocol TCP\n  inhibit_on_failure\n  sorry_server 10.0.0.9 8080\n  virtualhost www.example.com\n  real_server 10.0.0.2 80 {\n    SSL_GET {\n      url {\n        path /healthz\n        status_code 200-399\n        digest 0123456789abcdef\n      }\n      enable_sni\n      connect_timeout 2\n      retry 2\n      connect_port 8443\n    }\n  }\n}\n",
    );
    let s = skipped(&i);
    assert_eq!(s.len(), 1, "{s:#?}");
    assert!(
        s[0].starts_with("k.conf:12: `digest 0123456789abcdef` not converted: lvsync checks the status"),
        "{}",
        s[0]
    );
    let expected = "    health:
      check: https
      port: 8443
      interval: 5
      timeout: 2
      rise: 1
      fall: 3
      on_failure: quiesce
      http:
        path: /healthz
        host: www.example.com
        status: 200-399
      tls:
        verify: false
        sni: www.example.com
    fallback:
      address: \"10.0.0.9\"
      port: 8080
";
    assert!(i.text.contains(expected), "{}", i.text);
}

#[test]
fn misc_check_becomes_exec_with_argv_and_no_shell() {
    let i = keepalived(
        "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  real_server 10.0.0.2 80 {\n    MISC_CHECK {\n      misc_path \"/usr/lib/check --host 10.0.0.2 'two words'\"\n      misc_timeout 3\n    }\n  }\n  real_server 10.0.0.3 80 {\n    MISC_CHECK {\n      misc_path \"/usr/lib/check | grep ok\"\n    }\n  }\n}\n",
    );
    let flat = i.text.lines().map(str::trim).collect::<Vec<_>>().join("\n");
    assert!(flat.contains("exec:\ncommand:\n- /usr/lib/check\n- --host\n- \"10.0.0.2\"\n- two words\n"), "{}", i.text);
    assert!(i.text.contains("fall: 1\n"), "MISC_CHECK's retry defaults to 0: {}", i.text);
    let s = skipped(&i);
    assert_eq!(s.len(), 2, "{s:#?}");
    assert!(s[0].starts_with("k.conf:10: `MISC_CHECK` not converted"), "{}", s[0]);
    assert!(s[1].contains("k.conf:11:") && s[1].contains("shell syntax"), "{}", s[1]);
}

/// A `virtual_server` without `protocol` is UDP to keepalived 2.2 (TCP to older ones): it is
/// converted so, and said, without counting as left out.
#[test]
fn a_virtual_server_without_protocol_is_udp_and_said() {
    let i = keepalived("virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n  }\n}\n");
    assert!(i.skipped.is_empty(), "{:?}", i.skipped);
    assert!(i.text.contains("protocol: udp"), "{}", i.text);
    let notes: Vec<String> = i.notes.iter().map(|n| n.render("k.conf")).collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("k.conf:1: `virtual_server 10.0.0.1 80` converted: to `protocol: udp`"),
        "{}",
        notes[0]
    );
    let with = keepalived("virtual_server 10.0.0.1 80 {\n  protocol TCP\n  real_server 10.0.0.2 80 {\n  }\n}\n");
    assert!(with.notes.is_empty(), "{:?}", with.notes);
}

/// What is left out names the keyword as written, and says why without contradicting itself.
#[test]
fn a_timeout_over_the_interval_and_a_udp_check_are_reported_as_written() {
    let i = keepalived(
        "virtual_server 10.0.0.1 53 {\n  protocol UDP\n  delay_loop 0.5\n  real_server 10.0.0.2 53 {\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n  real_server 10.0.0.3 53 {\n    UDP_CHECK {\n      payload 70696e67\n      require_reply 706f6e67\n    }\n  }\n}\n",
    );
    let s = skipped(&i);
    assert_eq!(s.len(), 2, "{s:#?}");
    assert!(s[0].starts_with("k.conf:6: `connect_timeout 1` not converted") && s[0].contains("0.25 s"), "{}", s[0]);
    assert!(s[1].starts_with("k.conf:10: `UDP_CHECK` not converted") && s[1].contains("by hand"), "{}", s[1]);
    assert!(!s[1].contains("no check like"), "{}", s[1]);
    assert!(i.text.contains("timeout: 0.25\n"), "{}", i.text);
}

#[test]
fn without_inhibit_on_failure_keepalived_removes() {
    let i = keepalived(
        "virtual_server 10.0.0.1 53 {\n  protocol UDP\n  real_server 10.0.0.2 53 {\n    DNS_CHECK {\n      type a\n      name example.com\n    }\n  }\n}\n",
    );
    assert!(i.skipped.is_empty(), "{:?}", i.skipped);
    assert!(i.text.contains("      check: dns\n"), "{}", i.text);
    assert!(
        i.text.contains("      fall: 4\n      on_failure: remove\n"),
        "DNS_CHECK's retry defaults to 3: {}",
        i.text
    );
    assert!(i.text.contains("      dns:\n        name: example.com\n        type: A\n"), "{}", i.text);
}

#[test]
fn groups_expand_to_one_service_per_address_and_mark() {
    let i = keepalived(
        "virtual_server_group g {\n  10.0.0.1-3 80\n  fwmark 9 inet6\n  10.0.0.0/30 80\n}\nvirtual_server group g {\n  protocol TCP\n  real_server 10.0.1.1 80 {\n  }\n}\n",
    );
    for name in ["tcp-10-0-0-1-80", "tcp-10-0-0-2-80", "tcp-10-0-0-3-80", "fwmark-9-ipv6"] {
        assert!(i.text.contains(&format!("name: {name}\n")), "{name}: {}", i.text);
    }
    let s = skipped(&i);
    assert_eq!(s.len(), 1, "{s:#?}");
    assert!(s[0].starts_with("k.conf:4: `10.0.0.0/30 80` not converted"), "{}", s[0]);
}

#[test]
fn output_is_deterministic() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/import/keepalived.conf")).unwrap();
    assert_eq!(keepalived(&text), keepalived(&text));
}

#[test]
fn the_format_is_detected_from_the_content() {
    assert_eq!(import::detect("global_defs {\n}\nvirtual_server 1.2.3.4 80 {\n}\n").unwrap(), Source::Keepalived);
    assert_eq!(
        import::detect("checktimeout=3\nvirtual=1.2.3.4:80\n  real=1.2.3.5:80 gate\n").unwrap(),
        Source::Ldirectord
    );
    assert!(import::detect("hello\n").is_err());
}

const LDIRECTORD: &str = "# Global Directives
checktimeout=3
checkinterval=5
autoreload=yes
quiescent=no

virtual=192.168.6.240:80
\treal=192.168.6.2:80 gate
\treal=192.168.6.3:80 gate 2
\tfallback=127.0.0.1:80 gate
\tservice=http
\trequest=\"index.html\"
\treceive=\"Test Page\"
\tvirtualhost=www.example.com
\tscheduler=rr
\tprotocol=tcp
\tchecktype=negotiate
\tnegotiatetimeout=4
\tpersistent=600
\tnetmask=255.255.255.0

virtual=10.0.0.1:25
\treal=10.0.0.2->10.0.0.3:25 masq 1
\tchecktype=connect
\tcheckport=2525

virtual=7
\treal=10.0.0.5 ipip
\tprotocol=fwm
\tchecktype=ping
";

#[test]
fn ldirectord_virtuals_reals_and_checks_convert() {
    let i = ldirectord(LDIRECTORD);
    let s = skipped(&i);
    assert_eq!(s.len(), 3, "{s:#?}");
    assert!(s[0].starts_with("k.conf:4: `autoreload=yes` not converted"), "{}", s[0]);
    assert!(
        s[1].starts_with(
            "k.conf:10: `fallback=127.0.0.1:80 gate` not converted: a fallback on the director's loopback"
        ),
        "{}",
        s[1]
    );
    assert!(s[2].starts_with("k.conf:30: `checktype=ping` not converted"), "{}", s[2]);
    let web = "  - name: tcp-192-168-6-240-80
    vip: \"192.168.6.240\"
    port: 80
    protocol: tcp
    scheduler: rr
    persistence:
      timeout: 600
      netmask: \"255.255.255.0\"
    forward: dr
    health:
      check: http
      interval: 5
      timeout: 4
      rise: 1
      fall: 1
      on_failure: remove
      http:
        path: /index.html
        host: www.example.com
        body: Test Page
    real_servers:
      - address: \"192.168.6.2\"
        port: 80
      - address: \"192.168.6.3\"
        port: 80
        weight: 2
";
    assert!(i.text.contains(web), "{}", i.text);
    let smtp = "    forward: nat
    health:
      check: tcp
      port: 2525
      interval: 5
      timeout: 3
";
    assert!(i.text.contains(smtp), "{}", i.text);
    assert!(i.text.contains("      - address: \"10.0.0.2\"\n") && i.text.contains("      - address: \"10.0.0.3\"\n"));
    assert!(i.text.contains("  - name: fwmark-7\n    fwmark: 7\n    scheduler: wrr\n    forward: tun\n"), "{}", i.text);
}

#[test]
fn a_granularity_without_persistence_timeout_is_reported_not_made_persistent() {
    let i = keepalived(
        "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  persistence_granularity 255.255.255.0\n  real_server 10.0.0.2 80 {\n  }\n}\n",
    );
    assert!(!i.text.contains("persistence"), "{}", i.text);
    let s = skipped(&i);
    assert_eq!(s.len(), 1, "{s:#?}");
    assert!(
        s[0].starts_with("k.conf:3: `persistence_granularity 255.255.255.0` not converted: it has no effect"),
        "{}",
        s[0]
    );
}

/// What ldirectord's code does (resource-agents' ldirectord.in), where its manual page or a
/// first reading differ: comments anywhere on a line, `virtual6=` sections of their own,
/// `checktype=off`, UDP on port 53, a ping for `connect` on UDP, `quiescent=no` by default, the
/// service named by the port, the fallback's forwarding method, a request given as a URL, and
/// each timeout falling back on the other.
#[test]
fn ldirectord_converts_as_its_code_reads() {
    let i = ldirectord(
        "checktimeout=4
virtual=10.6.0.2:80
\treal=10.6.1.1:80 gate 10   # web1
\treal=10.6.1.2:80 gate 10 \"http://www.example.com/probe\", \"alive\"
\tservice=http
\trequest=\"/status\"
\treceive=\"UP\"
\tscheduler=wrr    # weighted
\tfallback=10.6.9.9:80 masq

virtual6=[2001:db8::7]:80
\treal6=[2001:db8::71]:80 gate
\tscheduler=sh
\tpersistent=900
\tquiescent=yes

virtual=10.3.0.53:53
\treal=10.3.1.1:53 gate
\tservice=dns
\trequest=\"example.com\"

virtual=10.5.0.1:80
\treal=10.5.1.1:80 gate
\tchecktype=off
\tfallback=10.5.9.9:80 gate

virtual=10.14.0.1:5060
\treal=10.14.1.1:5060 gate
\tprotocol=udp
\tchecktype=connect

virtual=10.10.0.25:25
\treal=10.10.1.1:25 gate

virtual=10.10.0.80:8080
\treal=10.10.1.1:8080 gate

virtual=10.11.0.1:80
\treal=10.11.1.1:80 masq
\tfallback=10.11.9.9:80
",
    );
    let all: Vec<String> = i.skipped.iter().chain(&i.notes).map(|s| s.render("l.cf")).collect();
    let said = |words: &str| all.iter().any(|s| s.contains(words));
    let service = |vip: &str| {
        let at = [format!("vip: \"{vip}\"\n"), format!("vip: {vip}\n")]
            .iter()
            .find_map(|v| i.text.find(v.as_str()))
            .unwrap_or_else(|| panic!("{vip}: {}", i.text));
        let rest = &i.text[at..];
        rest[..rest[1..].find("  - name: ").map_or(rest.len(), |e| e + 1)].to_string()
    };
    // Comments go; the virtual's request and receive are the check of web1; a URL request is
    // not converted, and that real server keeps the virtual's check.
    let web = service("10.6.0.2");
    assert!(web.contains("scheduler: wrr\n") && !web.contains('#'), "{web}");
    assert!(web.contains("path: /status") && web.contains("body: UP") && !web.contains("web1"), "{web}");
    assert!(!web.contains("/http:"), "{web}");
    assert!(said("l.cf:2: `http://www.example.com/probe` not converted: a request given as a whole URL"), "{all:#?}");
    // Global checktimeout=4 is the negotiate timeout too: no note about 30 s.
    assert!(web.contains("timeout: 4\n") && !said("negotiatetimeout of 30"), "{web}\n{all:#?}");
    // A masq fallback behind gate real servers is not converted.
    assert!(!web.contains("fallback"), "{web}");
    assert!(
        said(
            "l.cf:9: `fallback=10.6.9.9:80 masq` not converted: lvsync forwards a fallback as its service's real servers (`gate`"
        ),
        "{all:#?}"
    );
    // No `quiescent=`: removed on failure, as ldirectord's code does.
    assert!(web.contains("on_failure: remove"), "{web}");
    // The IPv6 section is its own service; its settings stay there.
    let v6 = service("2001:db8::7");
    assert!(v6.contains("scheduler: sh") && v6.contains("timeout: 900") && v6.contains("on_failure: quiesce"), "{v6}");
    assert!(v6.contains("address: 2001:db8::71\n"), "{v6}");
    assert!(!web.contains("persistence") && !web.contains("scheduler: sh"), "{web}");
    // Port 53 without protocol= is UDP, and said.
    assert!(service("10.3.0.53").contains("protocol: udp"), "{}", i.text);
    assert!(said("l.cf:17: `virtual=10.3.0.53:53` converted: to `protocol: udp`"), "{all:#?}");
    // checktype=off: never in, no fallback.
    let off = service("10.5.0.1");
    assert!(off.contains("weight: 0") && !off.contains("fallback") && !off.contains("health"), "{off}");
    assert!(said("`checktype=off` converted: ldirectord never puts these real servers"), "{all:#?}");
    // connect on UDP is a ping to ldirectord: not converted, no TCP probe.
    let sip = service("10.14.0.1");
    assert!(sip.contains("protocol: udp") && !sip.contains("check: tcp"), "{sip}");
    assert!(said("`checktype=connect` not converted: ldirectord pings a UDP real server"), "{all:#?}");
    // The service by the port: 25 negotiates smtp (probed by TCP, said); 8080 is `none`.
    assert!(service("10.10.0.25").contains("check: tcp"), "{}", i.text);
    assert!(said("`service=smtp` not converted: ldirectord negotiates `smtp` on this port"), "{all:#?}");
    assert!(!service("10.10.0.80").contains("health"), "{}", i.text);
    // A fallback is `gate` unless it says otherwise, also behind `masq` real servers.
    assert!(!service("10.11.0.1").contains("fallback"), "{}", i.text);
    assert!(said("`fallback=10.11.9.9:80 gate` not converted"), "{all:#?}");
    let config = lvsync::model::load(&i.text).unwrap_or_else(|e| panic!("{e}\n{}", i.text));
    assert_eq!(config.services.len(), 8);
}

/// keepalived 2.2's reading: `nb_get_retry` is a keyword of HTTP_GET and SSL_GET only, a
/// status_code line may list several, `misc_dynamic` makes exit statuses 2-255 a pass, a fwmark
/// service has no protocol, and a default timeout that lvsync must shorten is said.
#[test]
fn keepalived_checks_convert_as_keepalived_reads_them() {
    let i = keepalived(
        "virtual_server 10.0.0.1 80 {
  protocol TCP
  delay_loop 4
  real_server 10.0.0.2 80 {
    TCP_CHECK {
      connect_timeout 3
      nb_get_retry 3
      connect_port 70000
    }
  }
  real_server 10.0.0.3 80 {
    HTTP_GET {
      url {
        path /
        status_code 200 301-302
      }
      nb_get_retry 2
    }
  }
  real_server 10.0.0.4 80 {
    MISC_CHECK {
      misc_path \"/bin/weigh 10.0.0.4\"
      misc_dynamic
    }
  }
}
virtual_server fwmark 7 {
  real_server 10.0.0.5 80 {
    MISC_CHECK {
      misc_path /bin/true
    }
  }
}
",
    );
    let all: Vec<String> = i.skipped.iter().chain(&i.notes).map(|s| s.render("k.conf")).collect();
    let said = |words: &str| all.iter().any(|s| s.contains(words));
    let rs = |addr: &str| {
        let at = i.text.find(&format!("address: \"{addr}\"")).unwrap_or_else(|| panic!("{addr}: {}", i.text));
        let rest = &i.text[at..];
        let end = ["- address", "- name"].iter().filter_map(|m| rest[1..].find(m)).min();
        rest[..end.map_or(rest.len(), |e| e + 1)].to_string()
    };
    assert!(rs("10.0.0.2").contains("fall: 2\n"), "TCP_CHECK keeps retry 1: {}", rs("10.0.0.2"));
    assert!(said("k.conf:8: `connect_port 70000` not converted: expected a port 1..65535"), "{all:#?}");
    assert!(said("k.conf:7: `nb_get_retry 3` converted: ignored, as keepalived ignores it in TCP_CHECK"), "{all:#?}");
    let http = rs("10.0.0.3");
    assert!(http.contains("fall: 3\n") && http.contains("status: 200,301-302\n"), "{http}");
    assert!(!rs("10.0.0.4").contains("exec"), "{}", rs("10.0.0.4"));
    assert!(
        said("k.conf:23: `misc_dynamic` not converted: with it keepalived reads exit statuses 2-255 as up"),
        "{all:#?}"
    );
    assert!(!said("`virtual_server fwmark 7` converted: to `protocol: udp`"), "{all:#?}");
    // MISC_CHECK's timeout defaults to delay_loop (60 s here): shortened, and said.
    assert!(
        said("`MISC_CHECK` converted: keepalived's default timeout here (60 s) is not below delay_loop (60 s)"),
        "{all:#?}"
    );
    // keepalived retries after delay_before_retry, lvsync after an interval: said once.
    assert_eq!(
        all.iter().filter(|s| s.contains("`retry` converted: keepalived checks a failing real server again")).count(),
        1,
        "{all:#?}"
    );
    // The connect_timeout of 3 s is below delay_loop 4 s: no note for it.
    assert!(rs("10.0.0.2").contains("timeout: 3\n"), "{}", rs("10.0.0.2"));
    lvsync::model::load(&i.text).unwrap_or_else(|e| panic!("{e}\n{}", i.text));
}

/// Nesting deeper than any keepalived.conf is skipped and said, without recursing: 100,000
/// levels neither overflow the stack nor lose the statements around them.
#[test]
fn blocks_nested_beyond_reason_are_skipped_not_followed() {
    let deep = format!("{}{}", "a {\n".repeat(100_000), "}\n".repeat(100_000));
    let text = format!("virtual_server 10.0.0.1 80 {{\n  protocol TCP\n{deep}  real_server 10.0.0.2 80 {{\n  }}\n}}\n");
    let i = keepalived(&text);
    assert!(skipped(&i).iter().any(|s| s.contains("blocks nest deeper than 32 levels")), "{:#?}", skipped(&i));
    assert!(i.text.contains("address: \"10.0.0.2\""), "{}", i.text);
}
