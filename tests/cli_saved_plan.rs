//! `plan --out` then `apply --plan`: a saved plan applies exactly what was reviewed, and is
//! refused, changing nothing, when the live state moved since it was made. In User-Mode Linux.

use std::path::Path;

mod cli_support;
mod uml_support;
use cli_support::{lvsync, run, seed_subnet_on_a_dummy};

fn ipvsadm_save() -> String {
    String::from_utf8(run("ipvsadm-save", &["-n"]).stdout).unwrap()
}

#[test]
fn a_saved_plan_applies_only_while_the_live_state_is_unchanged() {
    uml_support::test_in_kernel(
        "a_saved_plan_applies_only_while_the_live_state_is_unchanged",
        Path::new(env!("CARGO_TARGET_TMPDIR")),
        || {
            seed_subnet_on_a_dummy();
            let dir = tempfile::tempdir().unwrap();
            let state = dir.path().join("state");
            let planfile = dir.path().join("seed.plan");
            let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed-dr.yaml");

            let out = lvsync(&state, &["plan", seed, "--out", planfile.to_str().unwrap()]);
            assert!(out.status.success());
            assert!(String::from_utf8_lossy(&out.stdout).contains("Plan: 4 to create"));
            assert_eq!(ipvsadm_save(), "", "plan changed the kernel");

            let out = lvsync(&state, &["apply", "--plan", planfile.to_str().unwrap()]);
            assert!(out.status.success());
            assert!(String::from_utf8_lossy(&out.stdout).contains("Apply complete: 4 created"));
            let applied = ipvsadm_save();
            assert!(applied.contains("-a -t 192.168.2.110:80 -r 192.168.2.107:80 -g -w 1"), "{applied}");

            // The same saved plan again: the live state is no longer what it was planned against.
            let out = lvsync(&state, &["apply", "--plan", planfile.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(1));
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.starts_with("error: the live state changed since the plan"), "{err}");

            // A fresh plan, then drift by hand before applying it: refused, and the drift stays.
            let out = lvsync(&state, &["plan", seed, "--out", planfile.to_str().unwrap(), "--detailed-exitcode"]);
            assert_eq!(out.status.code(), Some(0), "nothing to do after apply");
            assert!(
                run("ipvsadm", &["-e", "-t", "192.168.2.110:80", "-r", "192.168.2.106:80", "-g", "-w", "7"])
                    .status
                    .success()
            );
            let drifted = ipvsadm_save();
            let out = lvsync(&state, &["apply", "--plan", planfile.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(1));
            assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was changed"));
            assert_eq!(ipvsadm_save(), drifted, "a refused plan changed the kernel");

            // A damaged or foreign plan file is refused with a sentence, not a panic.
            std::fs::write(&planfile, "{}").unwrap();
            let out = lvsync(&state, &["apply", "--plan", planfile.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(1));
            assert!(String::from_utf8_lossy(&out.stderr).contains("is not a plan file written by `lvsync plan --out`"));
        },
    );
}
