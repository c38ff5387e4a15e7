//! The real `lvsync` binary against a real kernel (User-Mode Linux): plan, apply and export,
//! with ipvsadm as the oracle. One boot runs every scenario; each has its own state directory.

mod ipvs_support;
mod uml_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ipvs_support::*;

fn rich_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ipvs/rich.yaml")
}

#[test]
fn the_rich_file_describes_the_rich_table() {
    let config = lvsync::model::load(&std::fs::read_to_string(rich_file()).unwrap()).unwrap();
    let mut state = config.state();
    state.services.values_mut().for_each(|s| s.name = None);
    assert_eq!(state, rich_state());
}

struct Cli {
    dir: PathBuf,
}

impl Cli {
    fn new(name: &str) -> Cli {
        let dir = scratch().join(format!("cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Cli { dir }
    }

    fn run(&self, args: &[&str]) -> Output {
        let state = self.dir.join("state");
        Command::new(env!("CARGO_BIN_EXE_lvsync"))
            .args(args)
            .args(["--state-dir", state.to_str().unwrap()])
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }

    /// Run; the exit status must be `code`. Returns stdout.
    fn expect(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(code), "lvsync {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        stdout.into_owned()
    }

    fn file(&self, name: &str, text: &str) -> String {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    }
}

fn reset() {
    sh("ipvsadm -C && ipvsadm --set 900 120 300");
}

#[test]
fn lvsync_commands_against_the_kernel() {
    uml_support::test_in_kernel("lvsync_commands_against_the_kernel", scratch(), || {
        director_network();
        apply_builds_what_ipvsadm_builds_and_a_second_apply_changes_nothing();
        drift_makes_plan_exit_2_and_apply_repairs_it();
        export_of_a_hand_built_table_rebuilds_it();
        managed_leaves_foreign_services_alone_exclusive_removes_them();
        a_service_removed_from_the_file_is_deleted();
        an_identity_change_is_planned_as_delete_and_create();
    });
}

fn apply_builds_what_ipvsadm_builds_and_a_second_apply_changes_nothing() {
    reset();
    let cli = Cli::new("apply");
    let file = rich_file();
    let file = file.to_str().unwrap();
    cli.expect(2, &["plan", "--detailed-exitcode", file]);
    let first: serde_json::Value = serde_json::from_str(&cli.expect(0, &["apply", "--format", "json", file])).unwrap();
    // 7 services, 9 real servers, the timeouts: one netlink request each.
    assert_eq!(first["kernel_writes"], 17, "{first}");
    let by_lvsync = ipvsadm_save();
    let timeouts = sh("ipvsadm -L --timeout");
    assert!(timeouts.contains("Timeout (tcp tcpfin udp): 1000 100 200"), "{timeouts}");
    cli.expect(0, &["plan", "--detailed-exitcode", file]);
    let second: serde_json::Value = serde_json::from_str(&cli.expect(0, &["apply", "--format", "json", file])).unwrap();
    assert_eq!(second["kernel_writes"], 0, "a second apply wrote to the kernel: {second}");
    assert_eq!(ipvsadm_save(), by_lvsync, "a second apply changed the table");
    reset();
    ipvsadm_build(RICH_IPVSADM);
    assert_eq!(ipvsadm_save(), by_lvsync);
}

fn drift_makes_plan_exit_2_and_apply_repairs_it() {
    reset();
    let cli = Cli::new("drift");
    let file = rich_file();
    let file = file.to_str().unwrap();
    cli.expect(0, &["apply", file]);
    let before = ipvsadm_save();
    sh("ipvsadm -e -t 10.1.0.1:80 -r 10.1.1.1:80 -g -w 9");
    sh("ipvsadm -a -t 10.1.0.1:80 -r 10.1.1.9:80 -g -w 1");
    sh("ipvsadm -d -f 42 -r 10.1.1.5");
    let plan = cli.expect(2, &["plan", "--detailed-exitcode", "--format", "json", file]);
    for id in ["tcp/10.1.0.1:80/10.1.1.1:80", "tcp/10.1.0.1:80/10.1.1.9:80", "fwmark/42/10.1.1.5:0"] {
        assert!(plan.contains(id), "{id} missing from the plan:\n{plan}");
    }
    cli.expect(0, &["apply", file]);
    cli.expect(0, &["plan", "--detailed-exitcode", file]);
    assert_eq!(ipvsadm_save(), before);
}

fn export_of_a_hand_built_table_rebuilds_it() {
    reset();
    let cli = Cli::new("export");
    ipvsadm_build(RICH_IPVSADM);
    let built = ipvsadm_save();
    let listing = sh("ipvsadm -Ln --thresholds");
    let exported = cli.expect(0, &["export"]);
    let file = cli.file("exported.yaml", &exported);
    cli.expect(0, &["validate", &file]);
    // The file describes exactly the live table: nothing to plan.
    cli.expect(0, &["plan", "--detailed-exitcode", &file]);
    reset();
    let fresh = Cli::new("export-fresh");
    fresh.expect(0, &["apply", &file]);
    assert_eq!(ipvsadm_save(), built);
    assert_eq!(sh("ipvsadm -Ln --thresholds"), listing);
}

const WEB: &str = "version: 1\nownership: OWNERSHIP\nservices:\n  - name: web\n    vip: 10.1.0.1\n    port: 80\n    scheduler: rr\n    real_servers:\n      - address: 10.1.1.1\n";

fn managed_leaves_foreign_services_alone_exclusive_removes_them() {
    reset();
    let cli = Cli::new("ownership");
    let managed = cli.file("managed.yaml", &WEB.replace("OWNERSHIP", "managed"));
    let exclusive = cli.file("exclusive.yaml", &WEB.replace("OWNERSHIP", "exclusive"));
    cli.expect(0, &["apply", &managed]);
    sh("ipvsadm -A -t 10.1.0.99:25 -s rr && ipvsadm -a -t 10.1.0.99:25 -r 10.1.1.99:25 -g");
    let plan = cli.expect(0, &["plan", "--detailed-exitcode", &managed]);
    assert!(plan.contains("10.1.0.99:25"), "the foreign service should be listed as unmanaged:\n{plan}");
    cli.expect(0, &["apply", &managed]);
    assert!(ipvsadm_save().iter().any(|l| l.contains("10.1.0.99:25")));
    cli.expect(2, &["plan", "--detailed-exitcode", &exclusive]);
    cli.expect(0, &["apply", &exclusive]);
    assert!(!ipvsadm_save().iter().any(|l| l.contains("10.1.0.99:25")));
    assert!(ipvsadm_save().iter().any(|l| l.contains("10.1.0.1:80")));
}

fn a_service_removed_from_the_file_is_deleted() {
    reset();
    let cli = Cli::new("removed");
    let two = WEB.replace("OWNERSHIP", "managed")
        + "  - name: mail\n    vip: 10.1.0.2\n    port: 25\n    real_servers:\n      - address: 10.1.1.2\n";
    let two = cli.file("two.yaml", &two);
    let one = cli.file("one.yaml", &WEB.replace("OWNERSHIP", "managed"));
    cli.expect(0, &["apply", &two]);
    assert!(ipvsadm_save().iter().any(|l| l.contains("10.1.0.2:25")));
    let plan = cli.expect(2, &["plan", "--detailed-exitcode", "--format", "json", &one]);
    assert!(plan.contains("\"delete\": 1") || plan.contains("\"delete\":1"), "{plan}");
    cli.expect(0, &["apply", &one]);
    assert!(!ipvsadm_save().iter().any(|l| l.contains("10.1.0.2:25")));
    assert!(ipvsadm_save().iter().any(|l| l.contains("10.1.0.1:80")));
}

fn an_identity_change_is_planned_as_delete_and_create() {
    reset();
    let cli = Cli::new("identity");
    let v1 = cli.file("v1.yaml", &WEB.replace("OWNERSHIP", "managed"));
    let v2 = cli.file("v2.yaml", &WEB.replace("OWNERSHIP", "managed").replace("port: 80", "port: 8080"));
    cli.expect(0, &["apply", &v1]);
    let plan = cli.expect(2, &["plan", "--detailed-exitcode", "--format", "json", &v2]);
    let json: serde_json::Value = serde_json::from_str(&plan).unwrap();
    let actions: Vec<(String, String)> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "service")
        .map(|c| (c["action"].as_str().unwrap().to_string(), c["id"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        actions,
        [
            ("create".to_string(), "tcp/10.1.0.1:8080".to_string()),
            ("delete".to_string(), "tcp/10.1.0.1:80".to_string())
        ]
    );
    cli.expect(0, &["apply", &v2]);
    let saved = ipvsadm_save();
    assert!(saved.iter().any(|l| l.contains("10.1.0.1:8080")) && !saved.iter().any(|l| l.contains("10.1.0.1:80 ")));
}
