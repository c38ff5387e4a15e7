//! `lvsync import` against keepalived itself, in User-Mode Linux: keepalived's checker process
//! (`keepalived --check`) builds an IPVS table from a configuration; `lvsync apply` of the
//! import of the same configuration must build the same table, compared with `ipvsadm-save -n`.

mod ipvs_support;
mod uml_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use ipvs_support::*;

/// Every converted keyword without a health check: schedulers and their flags, DR/NAT/TUN,
/// persistence with a granularity, one-packet UDP, fwmark, a group with an address range,
/// IPv6, weights and thresholds, IPVS timeouts. No checkers: keepalived keeps such real servers.
const PLAIN: &str = r#"! keepalived's own syntax: both comment styles, quotes, a block opened on the next line
global_defs {
    lvs_timeouts tcp 1000 tcpfin 100 udp 200
}

virtual_server_group pair {
    10.1.0.10-11 443   # a range of two addresses
}

virtual_server 10.1.0.1 80
{
    lvs_sched rr
    lvs_method DR
    persistence_timeout 300
    persistence_granularity 255.255.255.0
    protocol TCP
    real_server 10.1.1.1 80 {
        weight 2
    }
    real_server 10.1.1.2 80 {
        weight 1
        uthreshold 100
        lthreshold 10
    }
}

virtual_server 10.1.0.2 53 {
    lb_algo sh
    sh-port
    ops
    protocol UDP
    lb_kind NAT
    real_server 10.1.1.3 5353 {
        weight 3
    }
}

virtual_server fwmark 42 {
    lvs_sched wlc
    lvs_method TUN
    real_server 10.1.1.4 {
        weight 1
    }
}

virtual_server group pair {
    lvs_sched "wrr"
    lvs_method DR
    real_server 10.1.1.5 443 {
        weight 5
    }
}

virtual_server 2001:db8:1::1 80 {
    lvs_sched lc
    lvs_method DR
    real_server 2001:db8:1::10 80 {
    }
}
"#;

/// TCP checks that pass: every 10.2.0.0/24 address is local and a listener answers on :8080.
/// One service quiesces on failure, the other removes; the sorry server stays out while the
/// real servers are up, in both tools.
const CHECKED: &str = r#"virtual_server 10.1.0.20 8080 {
    delay_loop 2
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    inhibit_on_failure
    sorry_server 10.2.0.99 8080
    real_server 10.2.0.1 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 2
        }
    }
    real_server 10.2.0.2 8080 {
        weight 4
        TCP_CHECK {
            connect_timeout 1
            retry 2
        }
    }
}

virtual_server 10.1.0.21 80 {
    delay_loop 3
    lvs_sched wlc
    lvs_method NAT
    real_server 10.2.0.3 8080 {
        weight 2
        TCP_CHECK {
            connect_port 8080
            connect_timeout 1
        }
    }
}
"#;

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = scratch().join(format!("import-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn lvsync(&self, args: &[&str]) -> Output {
        let state = self.0.join("state");
        Command::new(env!("CARGO_BIN_EXE_lvsync"))
            .args(args)
            .args(["--state-dir", state.to_str().unwrap(), "--iptables", "iptables-legacy"])
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Import `conf` (it must convert completely), apply the import, and return the table built.
fn lvsync_table(dir: &Dir, conf: &Path) -> (String, Vec<String>) {
    let out = dir.lvsync(&["import", conf.to_str().unwrap()]);
    let imported = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "import:\n{imported}\nstderr:\n{}", text(&out.stderr));
    let file = dir.file("imported.yaml", &imported);
    let out = dir.lvsync(&["apply", file.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "apply of\n{imported}\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    (imported, ipvsadm_save())
}

/// keepalived's checker process on `conf`, in the foreground, logging to stderr.
fn keepalived(dir: &Dir, conf: &Path) -> Child {
    Command::new("keepalived")
        .arg("--check")
        .arg("-f")
        .arg(conf)
        .arg("-p")
        .arg(dir.0.join("keepalived.pid"))
        .arg("-c")
        .arg(dir.0.join("checkers.pid"))
        .args(["-l", "-D", "-n"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("keepalived is installed (scripts/install-deps)")
}

/// Wait until keepalived's table equals `want` (its checkers add real servers over a few
/// seconds), then stop it. Returns the table it built.
fn keepalived_table(dir: &Dir, conf: &Path, want: &[String]) -> Vec<String> {
    sh("ipvsadm -C");
    let mut child = keepalived(dir, conf);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut table = ipvsadm_save();
    while table != want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
        table = ipvsadm_save();
    }
    // SIGTERM: keepalived removes its services and exits.
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    table
}

fn compare(name: &str, conf_text: &str) {
    let dir = Dir::new(name);
    let conf = dir.file("keepalived.conf", conf_text);
    sh("ipvsadm -C");
    let (imported, ours) = lvsync_table(&dir, &conf);
    assert!(ours.len() > 3, "lvsync built almost nothing:\n{ours:#?}");
    let theirs = keepalived_table(&dir, &conf, &ours);
    assert_eq!(theirs, ours, "keepalived's table (left) differs from lvsync's (right); the import was:\n{imported}");
    sh("ipvsadm -C");
}

#[test]
fn keepalived_and_lvsync_build_the_same_table_from_one_configuration() {
    uml_support::test_in_kernel("keepalived_and_lvsync_build_the_same_table_from_one_configuration", scratch(), || {
        director_network();
        compare("plain", PLAIN);
    });
}

/// The import carries `health:` (the checks), which `lvsync apply` must accept; one apply does
/// not probe, so this proves the table and the file's validity, not the probing itself.
#[test]
fn keepalived_and_lvsync_build_the_same_table_with_passing_tcp_checks() {
    uml_support::test_in_kernel(
        "keepalived_and_lvsync_build_the_same_table_with_passing_tcp_checks",
        scratch(),
        || {
            director_network();
            sh("ip route add local 10.2.0.0/24 dev lo");
            let listener = std::net::TcpListener::bind("0.0.0.0:8080").unwrap();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    drop(conn);
                }
            });
            compare("checked", CHECKED);
        },
    );
}
