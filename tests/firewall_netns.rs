//! The firewall backend against real netfilter on the machine's own kernel, never in the host's
//! network namespace: each test re-executes this binary under `unshare --net`, once per iptables
//! variant (`iptables-nft`, `iptables-legacy`), and the body runs in that fresh namespace.
//! Needs root, `unshare` (util-linux), `ip` (iproute2) and both iptables variants; a missing one
//! fails the test.

mod firewall_support;

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use firewall_support::*;
use lvsync::backend::{Backend, Executed};
use lvsync::firewall::{Firewall, exec, render};
use lvsync::model::{FirewallAction, Intent};
use lvsync::plan::{ChainChange, Change};
use lvsync::state::{Chain, ChainId, Family, Hook, Protocol};

const VARIANTS: [&str; 2] = ["iptables-nft", "iptables-legacy"];
const CHILD: &str = "LVSYNC_TEST_NETNS_IPTABLES";

/// Runs `body` with the variant's command inside a new network namespace, for every variant.
fn in_netns(test: &str, body: impl Fn(&str)) {
    if let Ok(iptables) = std::env::var(CHILD) {
        body(&iptables);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let exe = exe.to_str().unwrap();
    for variant in VARIANTS {
        let env = format!("{CHILD}={variant}");
        let args = ["--net", "env", &env, exe, test, "--exact", "--nocapture", "--test-threads=1"];
        match exec::run("unshare", &args, None) {
            Ok(out) => assert!(
                out.stdout.contains("test result: ok. 1 passed"),
                "{test} with {variant} did not run exactly once:\n{}\n{}",
                out.stdout,
                out.stderr
            ),
            Err(exec::Error::Failed { stderr, .. }) => panic!("{test} failed with {variant}:\n{stderr}"),
            Err(err) => panic!("{test} with {variant}: {err}"),
        }
    }
}

#[test]
fn rules_land_in_declared_order_in_both_families_and_the_forward_chain() {
    in_netns("rules_land_in_declared_order_in_both_families_and_the_forward_chain", |iptables| {
        run(iptables, &["-A", "INPUT", "-i", "lo", "-j", "ACCEPT"]);
        let mut fw = Firewall::new(iptables);
        let done = apply(&mut fw, &director());
        assert_eq!(done, Executed { changes: 3, writes: 2 }, "one restore per family");

        let v4 = save(iptables, &["-t", "filter"]);
        assert_eq!(
            own_lines(&v4, "LVSYNC-INPUT"),
            [
                r#"-s 192.168.0.0/16 -d 192.168.2.110/32 -p tcp -m tcp --dport 80 -m comment --comment "lvsync:office-to-web" -j ACCEPT"#,
                r#"-s 10.0.0.0/8 -d 192.168.2.110/32 -p tcp -m tcp --dport 80 -m comment --comment "lvsync:office-to-web" -j ACCEPT"#,
                r#"-m mark --mark 0x2a -m comment --comment "lvsync:marked" -j ACCEPT"#,
                r#"-p udp -m comment --comment "lvsync:no-udp" -j REJECT --reject-with icmp-port-unreachable"#,
                r#"-d 192.168.2.110/32 -m comment --comment "lvsync:vip-rest" -j DROP"#,
            ]
        );
        assert_eq!(
            own_lines(&v4, "LVSYNC-FORWARD"),
            [r#"-s 192.168.2.0/24 -p tcp -m comment --comment "lvsync:nat-replies" -j ACCEPT"#]
        );
        // The jump goes to the top, before the rule that was there.
        assert_eq!(own_lines(&v4, "INPUT"), ["-j LVSYNC-INPUT", "-i lo -j ACCEPT"]);
        assert_eq!(own_lines(&v4, "FORWARD"), ["-j LVSYNC-FORWARD"]);

        let v6 = save(&ip6(iptables), &["-t", "filter"]);
        assert_eq!(
            own_lines(&v6, "LVSYNC-INPUT"),
            [
                r#"-d 2001:db8::110/128 -p tcp -m tcp --dport 443 -m comment --comment "lvsync:web6" -j ACCEPT"#,
                r#"-p udp -m comment --comment "lvsync:no-udp" -j REJECT --reject-with icmp6-port-unreachable"#,
            ]
        );
        assert_eq!(own_lines(&v6, "INPUT"), ["-j LVSYNC-INPUT"]);
        assert!(!v6.contains("LVSYNC-FORWARD"), "{v6}");

        // The same file again changes nothing at all.
        assert_eq!(apply(&mut fw, &director()), Executed::default());
    });
}

#[test]
fn ipv6_only_intents_touch_only_ip6tables() {
    in_netns("ipv6_only_intents_touch_only_ip6tables", |iptables| {
        let mut fw = Firewall::new(iptables);
        // Reading a legacy table instantiates it in the namespace: read it first.
        let v4_before = save(iptables, &["-t", "filter"]);
        let web6 = Intent {
            family: Some(Family::Ipv6),
            sources: vec!["2001:db8:0:1::/64".parse().unwrap()],
            protocol: Some(Protocol::Sctp),
            port: Some(9),
            ..intent("sctp6", FirewallAction::Drop)
        };
        assert_eq!(apply(&mut fw, &[web6]), Executed { changes: 1, writes: 1 });
        assert_eq!(save(iptables, &["-t", "filter"]), v4_before);
        let v6 = save(&ip6(iptables), &["-t", "filter"]);
        assert_eq!(
            own_lines(&v6, "LVSYNC-INPUT"),
            [r#"-s 2001:db8:0:1::/64 -p sctp -m sctp --dport 9 -m comment --comment "lvsync:sctp6" -j DROP"#]
        );
    });
}

#[test]
fn reading_makes_no_legacy_table() {
    in_netns("reading_makes_no_legacy_table", |iptables| {
        let tables = || std::fs::read_to_string("/proc/net/ip_tables_names").unwrap_or_default();
        let mut fw = Firewall::new(iptables);
        let mut state = lvsync::state::State::default();
        fw.observe(&mut state).unwrap();
        assert!(state.chains.is_empty(), "{:?}", state.chains);
        if iptables.contains("legacy") {
            // A plan must not change the kernel: no filter table appears from reading.
            assert!(!tables().lines().any(|t| t == "filter"), "{}", tables());
            // Once the table exists, it is read (the chain is seen).
            run(iptables, &["-N", "LVSYNC-INPUT"]);
            let mut state = lvsync::state::State::default();
            fw.observe(&mut state).unwrap();
            assert_eq!(state.chains.len(), 1, "{:?}", state.chains);
        }
    });
}

/// Foreign state in both families and two tables, with counters.
fn add_foreign_rules(iptables: &str) {
    for args in [
        "-t nat -N DOCKER",
        "-t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
        "-t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE",
        "-N DOCKER-USER",
        "-A DOCKER-USER -j RETURN",
        "-A FORWARD -j DOCKER-USER",
        "-A INPUT -i lo -j ACCEPT",
        "-A INPUT -p tcp --dport 22 -j ACCEPT",
        "-N LVSYNC-INPUTX",
        "-A LVSYNC-INPUTX -j RETURN",
    ] {
        run(iptables, &args.split(' ').collect::<Vec<_>>());
    }
    run(&ip6(iptables), &["-A", "INPUT", "-p", "ipv6-icmp", "-j", "ACCEPT"]);
}

#[test]
fn foreign_rules_chains_and_tables_are_left_alone() {
    in_netns("foreign_rules_chains_and_tables_are_left_alone", |iptables| {
        add_foreign_rules(iptables);
        let v4 = save(iptables, &["-c"]);
        let v6 = save(&ip6(iptables), &["-c"]);
        let mut fw = Firewall::new(iptables);

        apply(&mut fw, &director());
        assert!(save(iptables, &["-c"]).contains("LVSYNC-FORWARD"));
        assert_eq!(without_lvsync(&save(iptables, &["-c"])), without_lvsync(&v4));
        assert_eq!(without_lvsync(&save(&ip6(iptables), &["-c"])), without_lvsync(&v6));

        // Removing every intent leaves exactly what was there before lvsync.
        assert_eq!(apply(&mut fw, &[]), Executed { changes: 3, writes: 2 });
        assert_eq!(save(iptables, &["-c"]), v4);
        assert_eq!(save(&ip6(iptables), &["-c"]), v6);
    });
}

/// Packets and bytes of the rules matching `needle` in `iptables-save -c -t filter`.
fn counters(iptables: &str, needle: &str) -> Vec<String> {
    save(iptables, &["-c", "-t", "filter"])
        .lines()
        .filter(|l| l.contains(needle) && l.starts_with('['))
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect()
}

#[test]
fn an_unchanged_chain_is_not_rewritten_and_keeps_its_counters() {
    in_netns("an_unchanged_chain_is_not_rewritten_and_keeps_its_counters", |iptables| {
        run("ip", &["link", "set", "lo", "up"]);
        let mut fw = Firewall::new(iptables);
        let intents = vec![tcp_v4("local", "127.0.0.1/32", 9, FirewallAction::Accept)];
        apply(&mut fw, &intents);
        for _ in 0..3 {
            // Refused (nothing listens): the SYN still passes INPUT, inside this namespace.
            let _ = TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, 9)), Duration::from_secs(1));
        }
        let before = counters(iptables, "LVSYNC-INPUT");
        assert_eq!(before.len(), 2, "the jump and the rule");
        assert!(before.iter().all(|c| c != "[0:0]"), "traffic was counted: {before:?}");

        assert_eq!(apply(&mut fw, &intents), Executed::default());
        assert_eq!(counters(iptables, "LVSYNC-INPUT"), before);

        // Changing the other chain of the family leaves this one alone too.
        let mut more = intents.clone();
        more.push(Intent { hook: Hook::Forward, ..tcp_v4("fwd", "10.0.0.0/8", 80, FirewallAction::Drop) });
        assert_eq!(apply(&mut fw, &more), Executed { changes: 1, writes: 1 });
        assert_eq!(counters(iptables, "LVSYNC-INPUT"), before);
    });
}

#[test]
fn drift_is_observed_and_repaired() {
    in_netns("drift_is_observed_and_repaired", |iptables| {
        let mut fw = Firewall::new(iptables);
        let desired = render(&director());
        let input = ChainId { family: Family::Ipv4, hook: Hook::Input };
        apply(&mut fw, &director());

        let repair = |fw: &mut Firewall, what: &str| {
            let observed = observe(fw);
            let changes = changes(&observed, &desired);
            assert_eq!(changes.len(), 1, "{what}: exactly one chain drifted: {changes:?}");
            assert_eq!(fw.execute(&changes).unwrap(), Executed { changes: 1, writes: 1 }, "{what}");
            assert_eq!(observe(fw), desired, "{what}: repaired");
            observed
        };

        run(iptables, &["-D", "LVSYNC-INPUT", "2"]);
        let seen = repair(&mut fw, "a rule deleted by hand");
        assert_eq!(seen[&input].rules.len(), desired[&input].rules.len() - 1);

        run(iptables, &["-D", "INPUT", "-j", "LVSYNC-INPUT"]);
        let seen = repair(&mut fw, "the jump deleted by hand");
        assert!(!seen[&input].jump);
        assert_eq!(own_lines(&save(iptables, &["-t", "filter"]), "INPUT"), ["-j LVSYNC-INPUT"]);

        run(iptables, &["-I", "LVSYNC-INPUT", "3", "-s", "6.6.6.6", "-j", "ACCEPT"]);
        let seen = repair(&mut fw, "a foreign rule inside lvsync's chain");
        assert_eq!(seen[&input].rules[2], "-s 6.6.6.6/32 -j ACCEPT");

        run(iptables, &["-A", "INPUT", "-j", "LVSYNC-INPUT"]);
        repair(&mut fw, "a second jump");
        assert_eq!(own_lines(&save(iptables, &["-t", "filter"]), "INPUT"), ["-j LVSYNC-INPUT"]);

        run(&ip6(iptables), &["-F", "LVSYNC-INPUT"]);
        repair(&mut fw, "an ip6tables chain flushed by hand");
    });
}

#[test]
fn a_refused_restore_leaves_the_previous_rules_and_says_why() {
    in_netns("a_refused_restore_leaves_the_previous_rules_and_says_why", |iptables| {
        let mut fw = Firewall::new(iptables);
        apply(&mut fw, &director());
        let before = save(iptables, &["-c"]);
        let observed = observe(&mut fw);
        let input = ChainId { family: Family::Ipv4, hook: Hook::Input };
        let forward = ChainId { family: Family::Ipv4, hook: Hook::Forward };
        let bad = Chain {
            rules: vec![r#"-m comment --comment "lvsync:fine" -j ACCEPT"#.into(), "-j LVSYNC-NOPE".into()],
            jump: true,
            ..Default::default()
        };
        // The forward chain's deletion rides in the same restore and must not happen either.
        let changes = [
            Change::Firewall(ChainChange { id: forward, before: observed.get(&forward).cloned(), after: None }),
            Change::Firewall(ChainChange { id: input, before: observed.get(&input).cloned(), after: Some(bad) }),
        ];
        let err = fw.execute(&changes).unwrap_err().to_string();
        assert_eq!(save(iptables, &["-c"]), before, "nothing changed");
        assert!(
            err.starts_with(
                "replacing ipv4/LVSYNC-FORWARD, ipv4/LVSYNC-INPUT failed, the previous rules are still in place"
            ),
            "{err}"
        );
        assert!(err.contains(&format!("`{iptables}-restore --noflush --wait=10` said: ")), "{err}");
        assert!(err.contains("LVSYNC-NOPE"), "iptables' own message names the bad target: {err}");
        // Legacy refuses the line itself, nft only at COMMIT: quote the line only when it is a rule.
        if iptables.contains("legacy") {
            assert!(err.contains("(line 7: `-A LVSYNC-INPUT -j LVSYNC-NOPE`)"), "the refused line is quoted: {err}");
        }
        assert!(!err.contains("`COMMIT`"), "{err}");
        assert_eq!(observe(&mut fw), observed);
    });
}

#[test]
fn without_ip6tables_ipv4_still_works() {
    in_netns("without_ip6tables_ipv4_still_works", |iptables| {
        // A directory with the IPv4 commands only, as on a system without ip6tables.
        let dir = tempfile::tempdir().unwrap();
        for suffix in ["-save", "-restore"] {
            let name = format!("{iptables}{suffix}");
            std::os::unix::fs::symlink(format!("/usr/sbin/{name}"), dir.path().join(&name)).unwrap();
        }
        let mut fw = Firewall::new(dir.path().join(iptables).to_str().unwrap());
        let v4_only = vec![tcp_v4("web", "192.168.2.110/32", 80, FirewallAction::Accept)];
        assert_eq!(apply(&mut fw, &v4_only), Executed { changes: 1, writes: 1 });

        let both = render(&[intent("everything", FirewallAction::Drop)]);
        let changes = changes(&observe(&mut fw), &both);
        let err = fw.execute(&changes).unwrap_err().to_string();
        assert!(err.contains("the ipv6 firewall is unavailable"), "{err}");
        assert!(err.contains("install the Debian package `iptables`"), "{err}");
    });
}

/// Intents of every shape (family, action, protocol, port, destination, sources, mark, hook),
/// `count` of them, deterministic.
fn every_shape(count: usize) -> Vec<Intent> {
    use FirewallAction::*;
    let families = [None, Some(Family::Ipv4), Some(Family::Ipv6)];
    let protocols = [None, Some(Protocol::Tcp), Some(Protocol::Udp), Some(Protocol::Sctp)];
    let ports = [None, Some(0), Some(1), Some(80), Some(65535)];
    let marks = [None, None, Some(0), Some(42), Some(u32::MAX)];
    let cidrs = |family: Family, n: usize| -> Vec<lvsync::state::Cidr> {
        let v4 = ["192.168.2.110/32", "10.0.0.0/8", "0.0.0.0/0", "172.16.4.0/22"];
        let v6 = ["2001:db8::110/128", "2001:db8:0:1::/64", "::/0", "::ffff:10.0.0.0/104", "fe80::/10"];
        let list: &[&str] = if family == Family::Ipv4 { &v4 } else { &v6 };
        (0..n).map(|i| list[(n * 7 + i) % list.len()].parse().unwrap()).collect()
    };
    (0..count)
        .map(|i| {
            let family = families[i % 3];
            let addressed = family.unwrap_or(Family::Ipv4);
            Intent {
                name: format!("{}n.a_m-e{i}", i % 10),
                action: [Accept, Drop, Reject][i / 3 % 3],
                hook: if i % 7 == 0 { Hook::Forward } else { Hook::Input },
                family,
                destination: (family.is_some() && i % 2 == 0).then(|| cidrs(addressed, i % 4 + 1)[i % 4]),
                protocol: protocols[i / 9 % 4],
                port: ports[i / 5 % 5],
                fwmark: marks[i / 11 % 5],
                sources: if family.is_some() { cidrs(addressed, i % 3) } else { Vec::new() },
            }
        })
        .collect()
}

#[test]
fn every_shape_of_intent_reads_back_exactly_as_rendered() {
    in_netns("every_shape_of_intent_reads_back_exactly_as_rendered", |iptables| {
        let mut fw = Firewall::new(iptables);
        // `apply` asserts that what iptables-save prints parses to exactly what render wrote.
        let done = apply(&mut fw, &every_shape(300));
        assert_eq!(done, Executed { changes: 4, writes: 2 });
        assert_eq!(apply(&mut fw, &every_shape(300)), Executed::default());
    });
}

#[test]
fn two_thousand_rules_apply_in_one_restore_per_family() {
    in_netns("two_thousand_rules_apply_in_one_restore_per_family", |iptables| {
        let mut fw = Firewall::new(iptables);
        let intents: Vec<Intent> = (0..2000u16)
            .map(|i| {
                let vip = format!("10.{}.{}.1/32", i / 250, i % 250);
                tcp_v4(&format!("svc-{i}"), &vip, 80 + i % 3, FirewallAction::Accept)
            })
            .collect();
        let started = std::time::Instant::now();
        assert_eq!(apply(&mut fw, &intents), Executed { changes: 1, writes: 1 });
        let first = started.elapsed();
        let started = std::time::Instant::now();
        assert_eq!(apply(&mut fw, &intents), Executed::default());
        println!("{iptables}: 2000 rules applied in {first:?}, observed unchanged in {:?}", started.elapsed());
    });
}
