//! Following the file on a real directory with real inotify events: every way a file is really
//! changed gives exactly one reload carrying the new content, and a change that keeps the content
//! gives none. No kernel needed; the reloads are what the watch loop would apply.

use std::fs;
use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use lvsync::watch::follow::{Check, DEBOUNCE, Detector, Follower};

/// Quiet time after which no more reload is expected.
const QUIET: Duration = Duration::from_millis(600);

struct Watched {
    path: PathBuf,
    follower: Follower,
    pokes: Receiver<()>,
    detector: Detector,
}

impl Watched {
    fn start(path: &Path) -> Watched {
        let (tx, pokes) = mpsc::channel();
        let follower = Follower::start(path, DEBOUNCE, move || {
            let _ = tx.send(());
        })
        .unwrap();
        let mut detector = Detector::default();
        assert!(matches!(detector.check(path), Check::Changed(_)), "the file exists before watching");
        Watched { path: path.to_path_buf(), follower, pokes, detector }
    }

    /// The contents the watch loop would reload, until things are quiet: what `watch` does per poke.
    fn reloads(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while self.pokes.recv_timeout(QUIET).is_ok() {
            self.follower.refresh().unwrap();
            if let Check::Changed(snap) = self.detector.check(&self.path) {
                out.push(snap.text);
            }
        }
        out
    }
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    fs::write(&file, "version: 1 # v1\n").unwrap();
    (dir, file)
}

#[test]
fn editor_writing_a_temporary_file_and_renaming_it_over() {
    let (dir, file) = setup();
    let mut w = Watched::start(&file);
    // vim (backupcopy=no), sed -i, most config-management tools.
    let tmp = dir.path().join(".director.yaml.swp");
    fs::write(&tmp, "version: 1 # v2\n").unwrap();
    fs::rename(&tmp, &file).unwrap();
    assert_eq!(w.reloads(), ["version: 1 # v2\n"]);
}

#[test]
fn sed_in_place() {
    let (_dir, file) = setup();
    let mut w = Watched::start(&file);
    let status = std::process::Command::new("sed").args(["-i", "s/v1/v2 by sed/"]).arg(&file).status().unwrap();
    assert!(status.success());
    assert_eq!(w.reloads(), ["version: 1 # v2 by sed\n"]);
}

#[test]
fn in_place_write_truncating_then_writing() {
    let (_dir, file) = setup();
    let mut w = Watched::start(&file);
    let mut f = fs::OpenOptions::new().write(true).truncate(true).open(&file).unwrap();
    f.write_all(b"version: 1 ").unwrap();
    f.flush().unwrap();
    f.write_all(b"# v2 written in two parts\n").unwrap();
    drop(f);
    assert_eq!(w.reloads(), ["version: 1 # v2 written in two parts\n"]);
}

#[test]
fn git_checkout_removing_and_creating_the_file() {
    let (_dir, file) = setup();
    let mut w = Watched::start(&file);
    fs::remove_file(&file).unwrap();
    fs::write(&file, "version: 1 # v2 from git\n").unwrap();
    assert_eq!(w.reloads(), ["version: 1 # v2 from git\n"]);
}

#[test]
fn kubernetes_configmap_data_symlink_swaps_twice() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // What the kubelet's atomic writer does: a new timestamped directory, `..data` swapped to it.
    let publish = |version: &str, old: Option<&str>| {
        let ts = format!("..2026_{version}");
        fs::create_dir(d.join(&ts)).unwrap();
        fs::write(d.join(&ts).join("director.yaml"), format!("version: 1 # {version}\n")).unwrap();
        symlink(&ts, d.join("..data_tmp")).unwrap();
        fs::rename(d.join("..data_tmp"), d.join("..data")).unwrap();
        if let Some(old) = old {
            fs::remove_dir_all(d.join(format!("..2026_{old}"))).unwrap();
        }
    };
    publish("v1", None);
    symlink("..data/director.yaml", d.join("director.yaml")).unwrap();
    let mut w = Watched::start(&d.join("director.yaml"));
    publish("v2", Some("v1"));
    assert_eq!(w.reloads(), ["version: 1 # v2\n"]);
    publish("v3", Some("v2"));
    assert_eq!(w.reloads(), ["version: 1 # v3\n"]);
    // The directory the link now points into is watched too.
    fs::write(d.join("director.yaml"), "version: 1 # v3 edited in place\n").unwrap();
    assert_eq!(w.reloads(), ["version: 1 # v3 edited in place\n"]);
}

#[test]
fn symlink_into_a_git_checkout_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let (etc, repo) = (dir.path().join("etc"), dir.path().join("repo"));
    fs::create_dir_all(&etc).unwrap();
    fs::create_dir_all(&repo).unwrap();
    fs::write(repo.join("director.yaml"), "version: 1 # v1\n").unwrap();
    symlink(repo.join("director.yaml"), etc.join("director.yaml")).unwrap();
    let mut w = Watched::start(&etc.join("director.yaml"));
    fs::remove_file(repo.join("director.yaml")).unwrap();
    fs::write(repo.join("director.yaml"), "version: 1 # v2 pulled\n").unwrap();
    assert_eq!(w.reloads(), ["version: 1 # v2 pulled\n"]);
}

#[test]
fn touching_or_rewriting_the_same_content_reloads_nothing() {
    let (dir, file) = setup();
    let mut w = Watched::start(&file);
    fs::write(&file, "version: 1 # v1\n").unwrap();
    let tmp = dir.path().join("tmp");
    fs::write(&tmp, "version: 1 # v1\n").unwrap();
    fs::rename(&tmp, &file).unwrap();
    fs::write(dir.path().join("unrelated.txt"), "x").unwrap();
    assert!(w.reloads().is_empty());
}

#[test]
fn other_files_in_the_directory_do_not_wake_the_loop() {
    // A log or the state dir next to the file must not cause re-reads (nor a feedback loop
    // of debug log lines about them).
    let (dir, _file) = setup();
    let w = Watched::start(&dir.path().join("director.yaml"));
    fs::write(dir.path().join("watch.log"), "line\n").unwrap();
    fs::create_dir(dir.path().join("state")).unwrap();
    fs::write(dir.path().join("state/inventory.json"), "{}").unwrap();
    assert!(w.pokes.recv_timeout(QUIET).is_err(), "an unrelated file woke the loop");
}
