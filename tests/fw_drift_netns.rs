//! Section 5 of the robustness work against real netfilter, in a network namespace this test
//! makes (once per iptables variant): duplicate jumps, a rule put above lvsync's jump, and a
//! foreign rule that jumps to lvsync's chain, each planned with words that match what apply
//! does, and applied without touching anything else outside lvsync's chains and jumps.

mod firewall_support;

use firewall_support::*;
use lvsync::backend::Backend;
use lvsync::firewall::{Firewall, exec, render};
use lvsync::plan::{Plan, RenderOptions, render_text};
use lvsync::state::{Inventory, Ownership, State};

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
            Ok(out) => {
                assert!(out.stdout.contains("test result: ok. 1 passed"), "{test} with {variant}:\n{}", out.stdout)
            }
            Err(exec::Error::Failed { stderr, .. }) => panic!("{test} failed with {variant}:\n{stderr}"),
            Err(err) => panic!("{test} with {variant}: {err}"),
        }
    }
}

/// The real planner over the live chains and the chains of `intents`.
fn plan(fw: &mut Firewall, intents: &[lvsync::model::Intent]) -> Plan {
    let desired = State { chains: render(intents), ..State::default() };
    let observed = State { chains: observe(fw), ..State::default() };
    lvsync::plan::plan(&desired, &observed, Ownership::Managed, &Inventory::default())
}

fn text(plan: &Plan) -> String {
    render_text(plan, RenderOptions { color: false })
}

fn input_rules(iptables: &str) -> Vec<String> {
    run(iptables, &["-S", "INPUT"]).lines().filter(|l| l.starts_with("-A ")).map(str::to_string).collect()
}

#[test]
fn a_duplicate_jump_is_said_to_be_removed_and_one_stays_at_the_top() {
    in_netns("a_duplicate_jump_is_said_to_be_removed_and_one_stays_at_the_top", |iptables| {
        let mut fw = Firewall::new(iptables);
        let intents = director();
        apply(&mut fw, &intents);
        run(iptables, &["-A", "INPUT", "-i", "lo", "-j", "ACCEPT"]);
        run(iptables, &["-A", "INPUT", "-j", "LVSYNC-INPUT"]);
        let p = plan(&mut fw, &intents);
        let t = text(&p);
        assert!(
            t.contains(
                "firewall chain ipv4/LVSYNC-INPUT (2 jumps from INPUT: the extra 1 removed, one kept at its top)"
            ),
            "{t}"
        );
        assert!(!t.contains("added"), "{t}");
        fw.execute(&p.changes).unwrap();
        assert_eq!(input_rules(iptables), ["-A INPUT -j LVSYNC-INPUT", "-A INPUT -i lo -j ACCEPT"]);
        assert!(plan(&mut fw, &intents).is_empty());
    });
}

#[test]
fn a_rule_above_the_jump_is_drift_and_the_jump_goes_back_to_the_top() {
    in_netns("a_rule_above_the_jump_is_drift_and_the_jump_goes_back_to_the_top", |iptables| {
        let mut fw = Firewall::new(iptables);
        let intents = director();
        apply(&mut fw, &intents);
        run(iptables, &["-A", "INPUT", "-i", "lo", "-j", "ACCEPT"]);
        run(iptables, &["-I", "INPUT", "1", "-d", "192.168.2.110/32", "-j", "DROP"]);
        let before = save(iptables, &["-t", "filter"]);
        let p = plan(&mut fw, &intents);
        let t = text(&p);
        assert!(
            t.contains(
                "firewall chain ipv4/LVSYNC-INPUT (jump from INPUT moved back to its top: 1 rule(s) were above it)"
            ),
            "{t}"
        );
        assert_eq!(p.changes.len(), 1, "{t}");
        fw.execute(&p.changes).unwrap();
        assert_eq!(
            input_rules(iptables),
            ["-A INPUT -j LVSYNC-INPUT", "-A INPUT -d 192.168.2.110/32 -j DROP", "-A INPUT -i lo -j ACCEPT"]
        );
        // Nothing but the jump moved: the table without lvsync's lines is the same.
        let after = save(iptables, &["-t", "filter"]);
        let others = |d: &str| without_lvsync(d).lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
        assert_eq!(others(&before), others(&after));
        assert!(plan(&mut fw, &intents).is_empty());
    });
}

#[test]
fn a_foreign_jump_keeps_the_chain_which_is_emptied_and_unhooked_as_the_plan_says() {
    in_netns("a_foreign_jump_keeps_the_chain_which_is_emptied_and_unhooked_as_the_plan_says", |iptables| {
        let mut fw = Firewall::new(iptables);
        apply(&mut fw, &director());
        run(iptables, &["-N", "MINE"]);
        run(iptables, &["-A", "MINE", "-j", "LVSYNC-INPUT"]);
        run(iptables, &["-A", "INPUT", "-j", "MINE"]);
        let p = plan(&mut fw, &[]);
        let t = text(&p);
        assert!(
            t.contains("(emptied and unhooked, not deleted: `-A MINE -j LVSYNC-INPUT` jumps to it; delete that rule, then `-X LVSYNC-INPUT`)"),
            "{t}"
        );
        assert!(t.contains("firewall chain ipv4/LVSYNC-INPUT (jump from INPUT removed)"), "{t}");
        fw.execute(&p.changes).expect("no deletion iptables refuses");
        assert_eq!(run(iptables, &["-S", "LVSYNC-INPUT"]).trim(), "-N LVSYNC-INPUT");
        assert_eq!(input_rules(iptables), ["-A INPUT -j MINE"]);
        assert_eq!(run(iptables, &["-S", "MINE"]).trim(), "-N MINE\n-A MINE -j LVSYNC-INPUT");
        // Kept, empty and unhooked: nothing more to do until the rule goes.
        let again = plan(&mut fw, &[]);
        assert!(again.changes.iter().all(|c| !c.id().contains("ipv4/LVSYNC-INPUT")), "{}", text(&again));
        run(iptables, &["-D", "MINE", "-j", "LVSYNC-INPUT"]);
        let p = plan(&mut fw, &[]);
        assert!(
            text(&p).contains("- firewall chain ipv4/LVSYNC-INPUT") || text(&p).contains("ipv4/LVSYNC-INPUT"),
            "{}",
            text(&p)
        );
        fw.execute(&p.changes).unwrap();
        assert!(!save(iptables, &["-t", "filter"]).contains("LVSYNC-INPUT"));
    });
}
