//! `watch` keeps following the file after its directory is removed and made again (a
//! configuration-management run that rebuilds `/etc/lvsync`, `rm -rf` and a fresh checkout):
//! real inotify events on a real directory, handled the way the watch loop handles them.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use lvsync::watch::follow::{Check, DEBOUNCE, Detector, Follower};

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
        assert!(matches!(detector.check(path), Check::Changed(_)));
        Watched { path: path.to_path_buf(), follower, pokes, detector }
    }

    /// What the loop does per poke: refresh the watches, then re-read the file.
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

#[test]
fn the_directory_removed_and_made_again_is_followed_by_events() {
    let top = tempfile::tempdir().unwrap();
    let conf = top.path().join("lvsync");
    fs::create_dir(&conf).unwrap();
    let file = conf.join("director.yaml");
    fs::write(&file, "version: 1 # v1\n").unwrap();
    let mut w = Watched::start(&file);

    fs::remove_dir_all(&conf).unwrap();
    assert_eq!(w.reloads(), Vec::<String>::new(), "nothing to read while it is gone");
    fs::create_dir(&conf).unwrap();
    fs::write(&file, "version: 1 # v2\n").unwrap();
    assert_eq!(w.reloads(), ["version: 1 # v2\n"]);

    // And the new directory is watched for the edits after that, more than once over.
    for n in 3..5 {
        fs::write(&file, format!("version: 1 # v{n}\n")).unwrap();
        assert_eq!(w.reloads(), [format!("version: 1 # v{n}\n")]);
    }
}

#[test]
fn a_directory_replaced_between_events_is_armed_again_on_refresh() {
    let top = tempfile::tempdir().unwrap();
    let conf = top.path().join("lvsync");
    fs::create_dir(&conf).unwrap();
    let file = conf.join("director.yaml");
    fs::write(&file, "version: 1 # v1\n").unwrap();
    let (tx, pokes) = mpsc::channel();
    let mut follower = Follower::start(&file, DEBOUNCE, move || {
        let _ = tx.send(());
    })
    .unwrap();
    assert!(!follower.refresh().unwrap(), "nothing changed: nothing to arm");

    // Replaced before the loop handled any event (the events are drained unseen).
    fs::remove_dir_all(&conf).unwrap();
    fs::create_dir(&conf).unwrap();
    fs::write(&file, "version: 1 # v2\n").unwrap();
    std::thread::sleep(QUIET);
    while pokes.try_recv().is_ok() {}
    // The periodic refresh the loop does on a timeout sees the new directory and says so, so
    // the loop re-reads the file instead of blaming NFS later.
    assert!(follower.refresh().unwrap(), "the new directory must be armed");
    assert!(follower.watched().any(|d| d == conf.canonicalize().unwrap()));
    fs::write(&file, "version: 1 # v3\n").unwrap();
    assert!(pokes.recv_timeout(Duration::from_secs(3)).is_ok(), "an edit in the new directory is seen");
}
