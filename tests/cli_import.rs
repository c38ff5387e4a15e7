//! The `import`, `completions` and `manpages` commands of the real binary: exit statuses, what
//! goes to stdout and stderr, and that an import is a valid lvsync file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import").join(name)
}

fn lvsync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lvsync")).args(args).env("NO_COLOR", "1").output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-import-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Import `source`, write the result, and run `lvsync validate` on it.
fn import_and_validate(source: &Path, name: &str) -> (Output, Output) {
    let out = lvsync(&["import", source.to_str().unwrap()]);
    let file = scratch(name).join("imported.yaml");
    std::fs::write(&file, &out.stdout).unwrap();
    let validate = lvsync(&["validate", file.to_str().unwrap()]);
    (out, validate)
}

#[test]
fn what_cannot_be_converted_is_listed_on_stderr_and_the_exit_status_is_1() {
    let source = fixture("keepalived.conf");
    let out = lvsync(&["import", source.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let first = format!("{}:3: `router_id LVS_DEVEL` not converted: ", source.display());
    assert!(stderr.starts_with(&first), "{stderr}");
    assert!(
        stderr.contains(":77: `include /etc/keepalived/other.conf` not converted: included files are not followed"),
        "{stderr}"
    );
    assert!(stderr.trim_end().ends_with("were not converted; the file printed holds the rest"), "{stderr}");
    // A group without `protocol` is converted as keepalived 2.2 reads it, and said in line order.
    assert!(stderr.contains(":48: `virtual_server group web_vips` converted: to `protocol: udp`"), "{stderr}");
    assert!(stderr.find(":32: ").unwrap() < stderr.find(":48: ").unwrap(), "{stderr}");
    assert!(text(&out.stdout).contains("version: 1\n"));
}

#[test]
fn a_configuration_without_checks_imports_into_a_valid_file_with_exit_0() {
    let dir = scratch("plain");
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lvs_method DR\n  real_server 10.0.0.2 80 {\n    weight 2\n  }\n}\n").unwrap();
    let (out, validate) = import_and_validate(&conf, "plain-out");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    assert_eq!(validate.status.code(), Some(0), "{}{}", text(&validate.stdout), text(&validate.stderr));
}

/// The imports carry `health:`, `fallback` and checks of every kind converted.
#[test]
fn imports_with_health_checks_are_valid_lvsync_files() {
    for (source, name) in [(fixture("keepalived.conf"), "keepalived"), (fixture("ldirectord.cf"), "ldirectord")] {
        let (out, validate) = import_and_validate(&source, name);
        assert!(text(&out.stdout).contains("health:"), "{}", text(&out.stdout));
        assert_eq!(
            validate.status.code(),
            Some(0),
            "the import of {} is not valid:\n{}\n{}{}",
            source.display(),
            text(&out.stdout),
            text(&validate.stdout),
            text(&validate.stderr)
        );
    }
}

#[test]
fn an_unrecognisable_file_is_an_error_that_names_the_option() {
    let dir = scratch("unknown");
    let file = dir.join("what.conf");
    std::fs::write(&file, "hello\n").unwrap();
    let out = lvsync(&["import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("--from keepalived|ldirectord"), "{}", text(&out.stderr));
    let forced = lvsync(&["import", "--from", "ldirectord", file.to_str().unwrap()]);
    assert_eq!(forced.status.code(), Some(1));
    assert!(
        text(&forced.stderr).contains(":1: `hello` not converted: expected `key=value`"),
        "{}",
        text(&forced.stderr)
    );
}

#[test]
fn completions_for_each_shell_know_every_command() {
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef lvsync"), ("fish", "complete -c lvsync")] {
        let out = lvsync(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0));
        let script = text(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        for command in ["validate", "plan", "apply", "watch", "import", "completions"] {
            assert!(script.contains(command), "{shell} completions lack {command}");
        }
        assert!(!script.contains("lab-inner") && !script.contains("manpages"), "{shell}: hidden commands leak");
    }
    assert_eq!(lvsync(&["completions", "tcsh"]).status.code(), Some(1));
}

#[test]
fn man_pages_are_generated_for_lvsync_and_each_command() {
    let dir = scratch("man");
    let out = lvsync(&["manpages", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let main = std::fs::read_to_string(dir.join("lvsync.1")).unwrap();
    assert!(main.contains(".TH lvsync 1"), "{main}");
    assert!(main.contains("import"), "{main}");
    let import = std::fs::read_to_string(dir.join("lvsync-import.1")).unwrap();
    assert!(import.contains("\\-\\-from") || import.contains("--from"), "{import}");
    for page in ["validate", "plan", "apply", "watch", "export", "schema", "lab", "completions"] {
        assert!(dir.join(format!("lvsync-{page}.1")).exists(), "lvsync-{page}.1");
    }
    assert!(!dir.join("lvsync-lab-inner.1").exists() && !dir.join("lvsync-manpages.1").exists());
}

/// keepalived loads a DR real server on another port (it resets the port) and a duplicate real
/// server (it drops the second); lvsync refuses both. The import says so at the printed file's
/// lines and exits 1, where it exited 0 with an invalid file before.
#[test]
fn an_import_that_does_not_validate_is_said_and_exits_1() {
    let dir = scratch("invalid");
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_kind DR\n  real_server 10.0.0.2 8080 {\n  }\n  real_server 10.0.0.3 80 {\n  }\n  real_server 10.0.0.3 80 {\n  }\n}\n",
    )
    .unwrap();
    let (out, validate) = import_and_validate(&conf, "invalid-out");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(validate.status.code(), Some(1));
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with("<the file printed>:") && lines[0].contains("real_servers[0].port: `8080` differs"),
        "{stderr}"
    );
    assert!(lines[1].contains("is listed twice"), "{stderr}");
    assert!(lines[2].starts_with("the file printed does not validate (2 problems above"), "{stderr}");
    // The file is printed all the same, to be mended by hand.
    assert!(text(&out.stdout).contains("version: 1\n"));
}
