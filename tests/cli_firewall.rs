//! Firewall intents through the CLI, with IPVS, in User-Mode Linux (iptables-legacy): applied,
//! removed with the file's intents, and not read at all where lvsync neither wants nor made rules.

use std::path::Path;

mod cli_support;
mod uml_support;
use cli_support::{lvsync, run, seed_subnet_on_a_dummy};

fn save() -> String {
    String::from_utf8(run("iptables-legacy-save", &["-t", "filter"]).stdout).unwrap()
}

#[test]
fn intents_come_and_go_with_the_file_and_cost_nothing_when_absent() {
    uml_support::test_in_kernel(
        "intents_come_and_go_with_the_file_and_cost_nothing_when_absent",
        Path::new(env!("CARGO_TARGET_TMPDIR")),
        || {
            seed_subnet_on_a_dummy();
            let dir = tempfile::tempdir().unwrap();
            let state = dir.path().join("state");
            let seed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed-dr.yaml")).unwrap();
            let with = dir.path().join("with.yaml");
            std::fs::write(&with, &seed).unwrap();
            let without = dir.path().join("without.yaml");
            std::fs::write(&without, &seed[..seed.find("\nfirewall:").expect("the seed has intents")]).unwrap();

            assert!(lvsync(&state, &["apply", with.to_str().unwrap()]).status.success());
            let rules = save();
            assert!(rules.contains("-A INPUT -j LVSYNC-INPUT"), "{rules}");
            assert!(rules.contains("lvsync:web-in"), "{rules}");

            let out = lvsync(&state, &["apply", without.to_str().unwrap()]);
            assert!(out.status.success());
            assert!(String::from_utf8_lossy(&out.stdout).contains("- firewall chain ipv4/LVSYNC-INPUT"));
            let rules = save();
            assert!(!rules.contains("LVSYNC"), "chains and jump removed with the intents: {rules}");

            // Now lvsync knows it has no rules anywhere and the file wants none: a plan runs no
            // iptables at all. Prove it with iptables commands that fail whenever they run.
            let fake = dir.path().join("fake");
            std::fs::create_dir(&fake).unwrap();
            for name in
                ["iptables-legacy-save", "iptables-legacy-restore", "ip6tables-legacy-save", "ip6tables-legacy-restore"]
            {
                let path = fake.join(name);
                std::fs::write(&path, "#!/bin/sh\necho \"iptables must not run\" >&2\nexit 3\n").unwrap();
                run("chmod", &["755", path.to_str().unwrap()]);
            }
            let fake_iptables = fake.join("iptables-legacy");
            let args = |file: &Path| {
                let out = run(
                    env!("CARGO_BIN_EXE_lvsync"),
                    &[
                        "--state-dir",
                        state.to_str().unwrap(),
                        "--iptables",
                        fake_iptables.to_str().unwrap(),
                        "plan",
                        file.to_str().unwrap(),
                    ],
                );
                (
                    out.status.code(),
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                )
            };
            let (code, stdout, stderr) = args(&without);
            assert_eq!(code, Some(0), "{stderr}");
            assert!(stdout.contains("No changes."));
            // The control: a file with intents does read the firewall (and so meets the fake).
            let (code, _, stderr) = args(&with);
            assert_eq!(code, Some(1));
            assert!(stderr.contains("iptables must not run"), "{stderr}");
            // With intents again, it reads and writes the firewall as before.
            let out = lvsync(&state, &["plan", with.to_str().unwrap()]);
            assert!(out.status.success());
            assert!(String::from_utf8_lossy(&out.stdout).contains("+ firewall chain ipv4/LVSYNC-INPUT"));
        },
    );
}
