//! Section 1 of the robustness work against a real kernel (User-Mode Linux, which has no
//! nf_tables), through the real binary and its default `--iptables auto`: a file without
//! intents needs no working iptables (plan, apply, watch), auto picks legacy where nf_tables is
//! unusable, and a failed apply names the changes it made and those it did not.

mod ipvs_support;
mod uml_support;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ipvs_support::*;

const LVSYNC: &str = env!("CARGO_BIN_EXE_lvsync");

struct Cli {
    dir: PathBuf,
}

impl Cli {
    fn new(name: &str) -> Cli {
        let dir = scratch().join(format!("fw-auto-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Cli { dir }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(LVSYNC);
        cmd.arg("--state-dir").arg(self.dir.join("state")).args(args).env("NO_COLOR", "1");
        cmd
    }

    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out: Output = self.command(args).output().unwrap();
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        eprintln!("$ lvsync {args:?} -> {:?}\n{stdout}{stderr}", out.status.code());
        assert!(!stderr.contains("panicked"), "{stderr}");
        (out.status.code(), stdout, stderr)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    }

    /// A directory of iptables commands that all fail, as a broken installation would.
    fn broken_iptables(&self) -> PathBuf {
        let dir = self.dir.join("broken");
        std::fs::create_dir_all(&dir).unwrap();
        for family in ["iptables", "ip6tables"] {
            for variant in ["", "-legacy", "-nft"] {
                for tool in ["-save", "-restore"] {
                    let path = dir.join(format!("{family}{variant}{tool}"));
                    std::fs::write(&path, "#!/bin/sh\necho \"iptables: broken on purpose\" >&2\nexit 3\n").unwrap();
                    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
                }
            }
        }
        dir
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn no_intents(vip: &str) -> String {
    format!(
        "version: 1\nservices:\n  - name: web\n    vip: {vip}\n    port: 80\n    scheduler: rr\n    forward: dr\n    real_servers:\n      - address: 10.1.1.1\n"
    )
}

/// Empties the IPVS table.
fn reset() {
    sh("ipvsadm -C");
}

fn has_vip(vip: &str) -> bool {
    ipvsadm_save().iter().any(|l| l.contains(&format!("{vip}:80")))
}

/// No `--iptables`: in User-Mode Linux nf_tables is unusable, so auto takes legacy, says so
/// once, and firewall intents work; a file without intents plans and applies the same.
fn auto_picks_legacy_without_nf_tables() {
    reset();
    let cli = Cli::new("legacy");
    let file = cli.write("plain.yaml", &no_intents("10.1.0.1"));
    let (code, _, stderr) = cli.run(&["apply", &file]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(has_vip("10.1.0.1"));
    assert!(!stderr.contains("nf_tables"), "{stderr}");
    assert_eq!(cli.run(&["plan", &file]).0, Some(0));

    let with_intents =
        format!("{}firewall:\n  - name: web-in\n    action: accept\n    service: web\n", no_intents("10.1.0.1"));
    let file = cli.write("intents.yaml", &with_intents);
    let (code, _, stderr) = cli.run(&["-v", "apply", &file]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr.matches("--iptables auto: using iptables-legacy").count(), 1, "{stderr}");
    assert!(stderr.contains("nf_tables is unusable"), "{stderr}");
    assert!(sh("iptables-legacy -S LVSYNC-INPUT").contains("lvsync:web-in"));
    assert!(sh("iptables-legacy -S INPUT").contains("-A INPUT -j LVSYNC-INPUT"));
    // Removing the intents removes the chains again, through auto.
    let file = cli.write("plain.yaml", &no_intents("10.1.0.1"));
    assert_eq!(cli.run(&["apply", &file]).0, Some(0));
    assert!(!sh("iptables-legacy-save -t filter").contains("LVSYNC"));
}

/// iptables that fails whatever it is asked, auto or named: a file without intents (and no
/// chains recorded) plans and applies with one warning; one with intents fails, saying why.
fn broken_iptables_does_not_stop_a_file_without_intents() {
    reset();
    let cli = Cli::new("broken");
    let broken = cli.broken_iptables();
    let file = cli.write("plain.yaml", &no_intents("10.1.0.2"));
    for iptables in [broken.join("auto"), broken.join("iptables")] {
        let iptables = iptables.to_str().unwrap();
        let (code, stdout, stderr) = cli.run(&["--iptables", iptables, "plan", &file]);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stdout.contains("10.1.0.2"), "{stdout}");
        assert_eq!(stderr.matches("iptables cannot be read").count(), 1, "{stderr}");
        let (code, _, stderr) = cli.run(&["--iptables", iptables, "apply", &file]);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stderr.matches("iptables cannot be read").count() <= 1, "{stderr}");
        assert!(has_vip("10.1.0.2"));
        reset();
        let _ = std::fs::remove_dir_all(cli.dir.join("state"));
    }
    let with_intents = format!(
        "{}firewall:\n  - name: web-in\n    action: accept\n    destination: 10.1.0.2/32\n",
        no_intents("10.1.0.2")
    );
    let file = cli.write("intents.yaml", &with_intents);
    let (code, _, stderr) = cli.run(&["--iptables", broken.join("auto").to_str().unwrap(), "apply", &file]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("broken on purpose"), "{stderr}");
}

/// `watch` with broken iptables and a file without intents enforces IPVS (and warns once),
/// instead of retrying forever.
fn watch_enforces_ipvs_with_broken_iptables() {
    reset();
    let cli = Cli::new("watch");
    let broken = cli.broken_iptables();
    let file = cli.write("plain.yaml", &no_intents("10.1.0.3"));
    let log = cli.dir.join("watch.log");
    let mut child = cli
        .command(&["--iptables", broken.join("auto").to_str().unwrap(), "watch", &file, "--resync-interval", "1"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !has_vip("10.1.0.3") && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let enforced = has_vip("10.1.0.3");
    // A few resyncs, each of which reads the firewall again.
    std::thread::sleep(Duration::from_secs(4));
    sh(&format!("kill {}", child.id()));
    let _ = child.wait();
    let log = std::fs::read_to_string(&log).unwrap();
    eprintln!("{log}");
    assert!(enforced, "watch did not enforce IPVS:\n{log}");
    assert_eq!(log.matches("iptables cannot be read").count(), 1, "{log}");
    assert!(!log.contains("reconcile failed"), "{log}");
}

/// The kernel refuses the last real server (the director's own broadcast address): the error
/// lists the changes made (both services, the first real server) and the one not made.
fn a_failed_apply_names_what_was_made_and_what_was_not() {
    reset();
    let cli = Cli::new("partial");
    let file = cli.write(
        "partial.yaml",
        "version: 1\nservices:\n\
         \x20 - name: a\n    vip: 10.1.0.5\n    port: 80\n    scheduler: rr\n    forward: dr\n    real_servers:\n      - address: 10.1.1.1\n\
         \x20 - name: b\n    vip: 10.1.0.6\n    port: 80\n    scheduler: rr\n    forward: dr\n    real_servers:\n      - address: 10.1.255.255\n",
    );
    let (code, _, stderr) = cli.run(&["apply", &file]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("applying") && stderr.contains("did not complete"), "{stderr}");
    assert!(!stderr.contains("changes before the failure remain"), "{stderr}");
    assert!(stderr.contains("3 of 4 changes were made: create service tcp/10.1.0.5:80; create service tcp/10.1.0.6:80; create real_server tcp/10.1.0.5:80/10.1.1.1:80;"), "{stderr}");
    assert!(stderr.contains("1 not made: create real_server tcp/10.1.0.6:80/10.1.255.255:80"), "{stderr}");
    assert!(stderr.contains("10.1.255.255"), "{stderr}");
    assert!(has_vip("10.1.0.5") && has_vip("10.1.0.6"));
}

#[test]
fn iptables_auto_and_apply_failures_in_user_mode_linux() {
    uml_support::test_in_kernel("iptables_auto_and_apply_failures_in_user_mode_linux", scratch(), || {
        director_network();
        auto_picks_legacy_without_nf_tables();
        broken_iptables_does_not_stop_a_file_without_intents();
        watch_enforces_ipvs_with_broken_iptables();
        a_failed_apply_names_what_was_made_and_what_was_not();
    });
}
