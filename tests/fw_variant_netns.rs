//! `--iptables auto` against the machine's own netfilter (which has nf_tables), in a network
//! namespace this test makes: nf_tables by default, legacy when the legacy tables hold more
//! rules, and whichever holds lvsync's chains over rule counts.

use lvsync::firewall::{exec, variant};

const CHILD: &str = "LVSYNC_TEST_NETNS_VARIANT";

fn in_netns(test: &str, body: impl Fn()) {
    if std::env::var(CHILD).is_ok() {
        body();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let env = format!("{CHILD}=1");
    let args = ["--net", "env", &env, exe.to_str().unwrap(), test, "--exact", "--nocapture", "--test-threads=1"];
    match exec::run("unshare", &args, None) {
        Ok(out) => assert!(out.stdout.contains("test result: ok. 1 passed"), "{test}:\n{}", out.stdout),
        Err(exec::Error::Failed { stderr, .. }) => panic!("{test} failed:\n{stderr}"),
        Err(err) => panic!("{test}: {err}"),
    }
}

fn run(program: &str, args: &[&str]) {
    exec::run(program, args, None).unwrap_or_else(|e| panic!("{program} {args:?}: {e}"));
}

#[test]
fn auto_follows_the_rules_and_lvsync_chains_the_system_holds() {
    in_netns("auto_follows_the_rules_and_lvsync_chains_the_system_holds", || {
        let (chosen, why) = variant::detect("");
        assert_eq!(chosen, "iptables-nft", "{why}");

        for _ in 0..3 {
            run("iptables-legacy", &["-A", "INPUT", "-i", "lo", "-j", "ACCEPT"]);
        }
        let (chosen, why) = variant::detect("");
        assert_eq!(chosen, "iptables-legacy", "{why}");
        assert!(why.contains("more rules (3 against 0"), "{why}");

        run("iptables-nft", &["-N", "LVSYNC-INPUT"]);
        let (chosen, why) = variant::detect("");
        assert_eq!(chosen, "iptables-nft", "{why}");
        assert!(why.contains("lvsync's chains are in nf_tables"), "{why}");
    });
}
