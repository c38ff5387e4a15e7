//! Section 2 and 4 of the robustness work against a real kernel (User-Mode Linux with IPVS),
//! through the real binary: read-only commands beside a held lock, `apply` whose reader goes
//! away after one line, and a damaged inventory that does not stop enforcement.

mod ipvs_support;
mod uml_support;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ipvs_support::*;
use lvsync::inventory::StateDir;

/// `services` NAT services of 4 real servers each, without firewall intents; `skip` left out.
fn file(services: usize, skip: &[usize]) -> String {
    let mut text = String::from("version: 1\nservices:\n");
    for i in (0..services).filter(|i| !skip.contains(i)) {
        text.push_str(&format!(
            "  - name: s{i}\n    vip: 10.2.{}.{}\n    port: 80\n    scheduler: rr\n    forward: nat\n    real_servers:\n",
            i / 200,
            i % 200 + 1
        ));
        for r in 1..=4 {
            text.push_str(&format!("      - address: 10.1.{}.{r}\n", i % 200 + 1));
        }
    }
    text
}

struct Cli {
    dir: PathBuf,
}

impl Cli {
    fn new(name: &str) -> Cli {
        let dir = scratch().join(format!("robust-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Cli { dir }
    }

    fn state(&self) -> PathBuf {
        self.dir.join("state")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lvsync"));
        cmd.args(args).args(["--state-dir", self.state().to_str().unwrap()]).env("NO_COLOR", "1");
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().unwrap();
        eprintln!(
            "$ lvsync {args:?} -> {:?}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).lines().take(8).collect::<Vec<_>>().join("\n")
        );
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
        out
    }

    fn write(&self, name: &str, text: &str) -> String {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn has_vip(vip: &str) -> bool {
    ipvsadm_save().iter().any(|l| l.contains(&format!("{vip}:80")))
}

#[test]
fn robustness_against_the_kernel() {
    uml_support::test_in_kernel("robustness_against_the_kernel", scratch(), || {
        director_network();
        read_only_commands_run_beside_a_held_lock_and_apply_waits();
        apply_whose_reader_leaves_after_one_line_succeeds();
        a_damaged_inventory_falls_back_and_enforcement_goes_on();
        watch_goes_on_from_the_last_good_copy_and_counts_it();
        watch_follows_a_directory_removed_and_made_again();
    });
}

fn read_only_commands_run_beside_a_held_lock_and_apply_waits() {
    sh("ipvsadm -C");
    let cli = Cli::new("lock");
    let f = cli.write("d.yaml", &file(2, &[]));
    assert_eq!(cli.run(&["apply", &f]).status.code(), Some(0));
    sh("ipvsadm -e -t 10.2.0.1:80 -r 10.1.1.1:80 -m -w 7");
    // What `watch` holds while it runs.
    let held = StateDir::lock(&cli.state(), Duration::ZERO).unwrap();
    // None of them waits for the lock: each is done before a waiter's 5 s would run out (all
    // three together may take longer in a User-Mode Linux on a busy machine).
    let timed = |args: &[&str]| {
        let started = Instant::now();
        let out = cli.run(args);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "{args:?} took {took:?} beside the lock");
        out
    };
    let plan = timed(&["plan", "--detailed-exitcode", &f]);
    assert_eq!(plan.status.code(), Some(2), "drift is shown");
    assert!(text(&plan.stdout).contains("weight 7 -> 1"), "{}", text(&plan.stdout));
    let export = timed(&["export"]);
    assert_eq!(export.status.code(), Some(0));
    assert!(text(&export.stdout).contains("10.2.0.2"), "{}", text(&export.stdout));
    assert_eq!(timed(&["validate", &f]).status.code(), Some(0));

    let started = Instant::now();
    let apply = cli.run(&["apply", &f]);
    assert_eq!(apply.status.code(), Some(1));
    assert!(text(&apply.stderr).starts_with("error: another lvsync holds the lock"), "{}", text(&apply.stderr));
    assert!(started.elapsed() >= Duration::from_secs(5));
    assert!(sh("ipvsadm -Ln").contains("7 "), "apply changed nothing while the lock was held");
    drop(held);
    assert_eq!(cli.run(&["apply", &f]).status.code(), Some(0));
}

/// `lvsync apply big.yaml | head -1`: the apply completes and says so with status 0.
fn apply_whose_reader_leaves_after_one_line_succeeds() {
    sh("ipvsadm -C");
    let cli = Cli::new("head");
    let f = cli.write("big.yaml", &file(400, &[]));
    let mut child = cli.command(&["apply", &f]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = child.wait().unwrap();
    assert!(first.contains("service s0"), "{first}");
    assert!(!err.contains("panicked") && !err.contains("error"), "{err}");
    assert_eq!(status.code(), Some(0), "{err}");
    let services = ipvsadm_save().iter().filter(|l| l.starts_with("-A ")).count();
    assert_eq!(services, 400);
    assert_eq!(cli.run(&["plan", "--detailed-exitcode", &f]).status.code(), Some(0), "the apply was whole");
}

fn a_damaged_inventory_falls_back_and_enforcement_goes_on() {
    sh("ipvsadm -C");
    let cli = Cli::new("damaged");
    let state = cli.state();
    let all = cli.write("d.yaml", &file(3, &[]));
    assert_eq!(cli.run(&["apply", &all]).status.code(), Some(0));
    let inventory = state.join("inventory.json");
    std::fs::write(&inventory, "{\"version\": 1, \"serv").unwrap();

    // s0 left the file: the last good copy still knows lvsync made it, so it is deleted.
    let fewer = cli.write("d2.yaml", &file(3, &[0]));
    let plan = cli.run(&["plan", &fewer]);
    assert_eq!(plan.status.code(), Some(0));
    let err = text(&plan.stderr);
    assert!(err.contains("damaged") && err.contains("last good copy"), "{err}");
    assert!(text(&plan.stdout).contains("- service s0"), "{}", text(&plan.stdout));
    assert_eq!(std::fs::read_to_string(&inventory).unwrap(), "{\"version\": 1, \"serv", "plan moves nothing");
    let apply = cli.run(&["apply", &fewer]);
    assert_eq!(apply.status.code(), Some(0));
    assert!(!has_vip("10.2.0.1") && has_vip("10.2.0.2"));
    assert!(Path::new(&state.join("inventory.json.damaged")).exists());
    assert!(!text(&cli.run(&["plan", &fewer]).stderr).contains("damaged"), "restored: warned once");

    // No good copy either: enforcement goes on as on a first run; s1 is left alone, not deleted.
    std::fs::write(&inventory, "garbage").unwrap();
    std::fs::remove_file(state.join("inventory.last-good.json")).unwrap();
    let fewest = cli.write("d3.yaml", &file(3, &[0, 1]));
    let apply = cli.run(&["apply", &fewest]);
    assert_eq!(apply.status.code(), Some(0));
    let err = text(&apply.stderr);
    assert!(err.contains("no good copy") && err.contains("ipvsadm -D"), "{err}");
    assert!(has_vip("10.2.0.2") && has_vip("10.2.0.3"));
    sh("ipvsadm -e -t 10.2.0.3:80 -r 10.1.3.1:80 -m -w 9");
    assert_eq!(cli.run(&["apply", &fewest]).status.code(), Some(0));
    assert!(!sh("ipvsadm -Ln").contains(" 9 "), "drift in the file's services is still undone");
}

fn scrape(port: u16) -> String {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// `watch` started over a damaged inventory enforces the file from the last good copy (the
/// service that left the file is deleted), warns, and counts it in its metrics.
fn watch_goes_on_from_the_last_good_copy_and_counts_it() {
    sh("ip link set lo up");
    sh("ipvsadm -C");
    let cli = Cli::new("watch");
    let all = cli.write("d.yaml", &file(3, &[]));
    assert_eq!(cli.run(&["apply", &all]).status.code(), Some(0));
    std::fs::write(cli.state().join("inventory.json"), "[1, 2").unwrap();
    let fewer = cli.write("d.yaml", &file(3, &[2]));
    let log = cli.dir.join("watch.log");
    let mut child = cli
        .command(&["watch", &fewer, "--resync-interval", "1", "--metrics-listen", "9101"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while has_vip("10.2.0.3") {
        assert!(started.elapsed() < Duration::from_secs(20), "watch did not delete s2");
        std::thread::sleep(Duration::from_millis(100));
    }
    let m = scrape(9101);
    assert!(m.lines().any(|l| l == "lvsync_inventory_recoveries_total 1"), "{m}");
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(said.contains("damaged") && said.contains("last good copy"), "{said}");
    // SAFETY: kill(2) on the pid of a child this test spawned.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

fn kernel_weight_of(vip: &str) -> Option<u32> {
    let table = sh(&format!("ipvsadm -Ln -t {vip}:80 2>/dev/null || true"));
    table.lines().find(|l| l.contains("->") && l.contains("10.1."))?.split_whitespace().nth(3)?.parse().ok()
}

/// `rm -rf` of the file's directory and a fresh one: the next edit is applied from its event,
/// long before any resync, and nobody is told the file system may be NFS. On tmpfs (inotify
/// works there; the scratch directory is hostfs, which has no events).
fn watch_follows_a_directory_removed_and_made_again() {
    sh("ipvsadm -C");
    let cli = Cli::new("rearm");
    let mount = cli.dir.join("tmpfs");
    std::fs::create_dir_all(&mount).unwrap();
    sh(&format!("mount -t tmpfs none {}", mount.display()));
    let conf = mount.join("lvsync");
    std::fs::create_dir(&conf).unwrap();
    let f = conf.join("director.yaml");
    std::fs::write(&f, file(1, &[])).unwrap();
    let log = cli.dir.join("watch.log");
    let mut child = cli
        .command(&["watch", f.to_str().unwrap(), "--resync-interval", "600"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let wait = |weight: u32| {
        let started = Instant::now();
        while kernel_weight_of("10.2.0.1") != Some(weight) {
            let said = std::fs::read_to_string(&log).unwrap();
            assert!(started.elapsed() < Duration::from_secs(15), "weight {weight} not applied:\n{said}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait(1);
    std::fs::remove_dir_all(&conf).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::create_dir(&conf).unwrap();
    std::fs::write(&f, file(1, &[]).replace("10.1.1.1\n", "10.1.1.1\n        weight: 5\n")).unwrap();
    wait(5);
    // And again, in the directory armed anew.
    std::fs::write(&f, file(1, &[]).replace("10.1.1.1\n", "10.1.1.1\n        weight: 6\n")).unwrap();
    wait(6);
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(!said.contains("NFS"), "{said}");
    // SAFETY: kill(2) on the pid of a child this test spawned.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    sh(&format!("umount {}", mount.display()));
}
