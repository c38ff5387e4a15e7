//! The state directory under attack, on a real file system: links planted where lvsync writes,
//! files and directories of other owners, a permissive umask, a FIFO for an inventory. Runs as
//! root (the tests hand files to another uid with chown).

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::time::Duration;

use lvsync::inventory::{Error, Inventory, StateDir};

const OTHER_UID: u32 = 4242;

fn some_inventory() -> Inventory {
    let mut inv = Inventory::default();
    inv.services.insert("tcp/192.168.2.110:80".parse().unwrap(), Some("web".into()));
    inv
}

fn lock(dir: &Path) -> Result<StateDir, Error> {
    StateDir::lock(dir, Duration::ZERO)
}

fn refused(err: Error, what: &str) {
    let text = err.to_string();
    assert!(matches!(err, Error::Unsafe { .. }), "{text}");
    assert!(text.starts_with("refusing ") && text.contains(what), "{text}");
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), None).unwrap();
}

#[test]
fn a_symlinked_temporary_file_is_never_written_through() {
    let top = tempfile::tempdir().unwrap();
    let (state, victim) = (top.path().join("state"), top.path().join("victim"));
    fs::write(&victim, "precious\n").unwrap();
    let sd = lock(&state).unwrap();
    symlink(&victim, state.join("inventory.json.tmp")).unwrap();
    sd.save(&some_inventory()).unwrap();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(sd.load().unwrap().services, some_inventory().services);
    assert!(!state.join("inventory.json.tmp").exists());
}

#[test]
fn a_symlinked_lock_is_refused_and_creates_nothing() {
    let top = tempfile::tempdir().unwrap();
    let state = top.path().join("state");
    fs::create_dir(&state).unwrap();
    fs::set_permissions(&state, fs::Permissions::from_mode(0o700)).unwrap();
    let target = top.path().join("created-by-root");
    symlink(&target, state.join("lock")).unwrap();
    refused(lock(&state).unwrap_err(), "symbolic link");
    assert!(!target.exists(), "root followed the link and created {}", target.display());
}

#[test]
fn a_symlinked_inventory_is_refused_not_read() {
    let top = tempfile::tempdir().unwrap();
    let state = top.path().join("state");
    let sd = lock(&state).unwrap();
    let elsewhere = top.path().join("inventory.json");
    fs::write(&elsewhere, r#"{"version":1,"services":{}}"#).unwrap();
    symlink(&elsewhere, state.join("inventory.json")).unwrap();
    refused(sd.load().unwrap_err(), "symbolic link");
    refused(StateDir::read_only(&state).unwrap().load().unwrap_err(), "symbolic link");
}

#[test]
fn a_symlinked_state_directory_is_refused() {
    let top = tempfile::tempdir().unwrap();
    let real = top.path().join("real");
    fs::create_dir(&real).unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o700)).unwrap();
    let link = top.path().join("state");
    symlink(&real, &link).unwrap();
    refused(lock(&link).unwrap_err(), "symbolic link");
    refused(StateDir::read_only(&link).unwrap_err(), "symbolic link");
    assert!(!real.join("lock").exists());
}

#[test]
fn foreign_owners_are_refused() {
    let top = tempfile::tempdir().unwrap();
    let state = top.path().join("state");
    let sd = lock(&state).unwrap();
    sd.save(&some_inventory()).unwrap();
    drop(sd);

    chown(&state.join("inventory.json"), OTHER_UID);
    let sd = lock(&state).unwrap();
    refused(sd.load().unwrap_err(), &format!("uid `{OTHER_UID}`"));
    drop(sd);
    chown(&state.join("inventory.json"), 0);

    chown(&state.join("lock"), OTHER_UID);
    refused(lock(&state).unwrap_err(), &format!("uid `{OTHER_UID}`"));
    chown(&state.join("lock"), 0);

    chown(&state, OTHER_UID);
    refused(lock(&state).unwrap_err(), &format!("uid `{OTHER_UID}`"));
    refused(StateDir::read_only(&state).unwrap_err(), &format!("uid `{OTHER_UID}`"));
    chown(&state, 0);
    lock(&state).unwrap();
}

#[test]
fn a_directory_others_can_write_to_is_refused() {
    let top = tempfile::tempdir().unwrap();
    let state = top.path().join("state");
    fs::create_dir(&state).unwrap();
    fs::set_permissions(&state, fs::Permissions::from_mode(0o777)).unwrap();
    refused(lock(&state).unwrap_err(), "chmod go-w");
    fs::set_permissions(&state, fs::Permissions::from_mode(0o755)).unwrap();
    lock(&state).unwrap();
}

#[test]
fn a_fifo_for_an_inventory_is_refused_without_hanging() {
    let top = tempfile::tempdir().unwrap();
    let state = top.path().join("state");
    let sd = lock(&state).unwrap();
    let status = std::process::Command::new("mkfifo").arg(state.join("inventory.json")).status().unwrap();
    assert!(status.success());
    refused(sd.load().unwrap_err(), "not a regular file");
}

/// Under umask 000 the directory is 0700 and every file 0600. The umask is the process's: this
/// test changes it only around its own calls, and no other test here depends on it.
#[test]
fn files_are_private_whatever_the_umask() {
    let top = tempfile::tempdir().unwrap();
    let state = top.path().join("deep/state");
    // SAFETY: umask cannot fail; it is restored below.
    let old = unsafe { libc::umask(0) };
    let sd = lock(&state);
    let saved = sd.as_ref().map(|sd| sd.save(&some_inventory()));
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    saved.unwrap().unwrap();
    let mode = |p: &Path| fs::symlink_metadata(p).unwrap().mode() & 0o7777;
    assert_eq!(mode(&state), 0o700);
    for name in ["lock", "inventory.json", "inventory.last-good.json"] {
        assert_eq!(mode(&state.join(name)), 0o600, "{name}");
    }
}

#[test]
fn the_inventory_is_kept_with_a_last_good_copy_and_read_without_the_lock() {
    let top = tempfile::tempdir().unwrap();
    let state = top.path().join("state");
    let sd = lock(&state).unwrap();
    sd.save(&some_inventory()).unwrap();
    let copy = fs::read_to_string(state.join("inventory.last-good.json")).unwrap();
    assert_eq!(copy, fs::read_to_string(state.join("inventory.json")).unwrap());
    // The lock is held: a reader neither waits nor fails.
    let started = std::time::Instant::now();
    let read = StateDir::read_only(&state).unwrap().load().unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(read.services, some_inventory().services);
    // Truncated by hand (or by a disk): the copy carries on, and the next reader sees it restored.
    fs::write(state.join("inventory.json"), "").unwrap();
    assert_eq!(sd.load().unwrap().services, some_inventory().services);
    assert_eq!(fs::read_to_string(state.join("inventory.json.damaged")).unwrap(), "");
    assert_eq!(fs::read_to_string(state.join("inventory.json")).unwrap(), copy);
}
