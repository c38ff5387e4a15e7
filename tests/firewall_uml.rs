//! The firewall backend in User-Mode Linux, a kernel without nf_tables for IPv4: iptables-nft
//! must fail with the advice to use iptables-legacy, and iptables-legacy must do the whole job.
//! The test boots `linux.uml` once with the host's filesystem as root and re-executes this
//! binary there as PID 1's child; a missing `linux.uml` fails the test.

mod firewall_support;

use std::path::Path;

use firewall_support::*;
use lvsync::backend::{Backend, Executed};
use lvsync::firewall::{Firewall, exec};
use lvsync::state::State;

const CHILD: &str = "LVSYNC_TEST_UML";
const MODULES: &str = "ip_tables iptable_filter ip6_tables ip6table_filter xt_comment xt_mark xt_tcpudp xt_sctp \
                       ipt_REJECT ip6t_REJECT";

/// Runs `body` inside a fresh User-Mode Linux kernel with legacy iptables modules loaded.
fn in_uml(test: &str, body: impl Fn()) {
    if std::env::var_os(CHILD).is_some() {
        body();
        return;
    }
    // Not under /tmp: the guest mounts its own tmpfs there.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let d = dir.path().to_str().unwrap();
    let exe = std::env::current_exe().unwrap();
    let script = format!(
        "#!/bin/sh\n\
         mount -t proc proc /proc\nmount -t sysfs sys /sys\nmount -t tmpfs tmpfs /run\nmount -t tmpfs tmpfs /tmp\n\
         export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n\
         mkdir -p /tmp/mods/lib && ln -s /usr/lib/uml/modules /tmp/mods/lib/modules\n\
         modprobe -d /tmp/mods -a {MODULES} > {d}/modprobe.txt 2>&1\n\
         env {CHILD}=1 {exe} {test} --exact --nocapture --test-threads=1 > {d}/out.txt 2>&1\n\
         echo $? > {d}/status\nsync\nhalt -f\n",
        exe = exe.display()
    );
    let init = dir.path().join("init.sh");
    std::fs::write(&init, script).unwrap();
    std::fs::set_permissions(&init, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let args = [
        "120",
        "linux.uml",
        "mem=512M",
        "root=/dev/root",
        "rootfstype=hostfs",
        "rootflags=/",
        "rw",
        &format!("init={}", init.display()),
        "con=null",
        "con0=null,fd:2",
    ];
    let console = match exec::run("timeout", &args, None) {
        Ok(out) => out.stderr,
        Err(exec::Error::Failed { stderr, .. }) => stderr,
        Err(err) => panic!("booting User-Mode Linux: {err}"),
    };
    let read = |name: &str| std::fs::read_to_string(Path::new(d).join(name)).unwrap_or_default();
    let out = read("out.txt");
    assert_eq!(
        read("status").trim(),
        "0",
        "{test} failed in User-Mode Linux:\n{out}\nmodprobe: {}\nconsole tail: {}",
        read("modprobe.txt"),
        console.lines().rev().take(20).collect::<Vec<_>>().join("\n")
    );
    assert!(out.contains("test result: ok. 1 passed"), "{test} did not run exactly once:\n{out}");
}

#[test]
fn without_nf_tables_nft_says_to_use_legacy_and_legacy_does_the_job() {
    in_uml("without_nf_tables_nft_says_to_use_legacy_and_legacy_does_the_job", || {
        let err = Firewall::new("iptables-nft").observe(&mut State::default()).unwrap_err().to_string();
        assert!(
            err.contains("cannot talk to the kernel's nf_tables; run lvsync with `--iptables iptables-legacy`"),
            "{err}"
        );
        assert!(err.contains("`iptables-nft-save -t filter`"), "the command is named: {err}");
        assert!(err.contains("Failed to initialize nft"), "iptables' own words: {err}");

        let mut fw = Firewall::new("iptables-legacy");
        assert_eq!(apply(&mut fw, &director()), Executed { changes: 3, writes: 2 });
        let v4 = save("iptables-legacy", &["-t", "filter"]);
        assert_eq!(own_lines(&v4, "INPUT"), ["-j LVSYNC-INPUT"]);
        assert_eq!(own_lines(&v4, "LVSYNC-INPUT").len(), 5);
        assert_eq!(apply(&mut fw, &director()), Executed::default());
        assert_eq!(apply(&mut fw, &[]), Executed { changes: 3, writes: 2 });
        assert!(!save("iptables-legacy", &[]).contains("LVSYNC"));
        assert!(!save("ip6tables-legacy", &[]).contains("LVSYNC"));
    });
}
