//! Following the file the way files really change: editors rename a temporary file over it,
//! `git checkout` removes and re-creates it, config management writes it in place, Kubernetes
//! swaps a `..data` symlink. None of these is reliably visible on the file itself, so the
//! directories along its symlink chain are watched, an event naming the file or a link on its
//! way re-reads the file, and only a different content hash counts as a change. Events about
//! other files in those directories (a log, the state dir) are ignored.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::hash::Hasher;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

/// Events closer together than this are handled as one: long enough to cover a truncate and
/// the write after it, short enough to keep edit-to-kernel latency low.
pub const DEBOUNCE: Duration = Duration::from_millis(30);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot watch {path} for changes")]
    Watch {
        path: PathBuf,
        #[source]
        source: notify::Error,
    },
}

/// Watches the directories that hold the file and each link on the way to it; calls `poke`
/// (from a background thread) when something there changed.
pub struct Follower {
    path: PathBuf,
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    /// Each watched directory with its identity when it was armed: a directory removed and
    /// made again is another directory, and the old watch died with the old one.
    watched: BTreeMap<PathBuf, DirId>,
    /// What an event must name to matter: shared with the watcher's thread.
    relevant: Arc<Mutex<BTreeSet<PathBuf>>>,
    /// Paths the watcher saw removed since the last refresh: a watched directory among them
    /// lost its watch, even if a new one got the same identity.
    removed: Arc<Mutex<BTreeSet<PathBuf>>>,
}

impl Follower {
    pub fn start(path: &Path, debounce: Duration, poke: impl Fn() + Send + 'static) -> Result<Follower, Error> {
        let relevant = Arc::new(Mutex::new(BTreeSet::new()));
        let names = relevant.clone();
        let removed = Arc::new(Mutex::new(BTreeSet::new()));
        let gone = removed.clone();
        let handler = move |result: DebounceEventResult| match result {
            Ok(events) => {
                if let Ok(mut gone) = gone.lock() {
                    let removals = events.iter().filter(|e| matches!(e.kind, EventKind::Remove(_)));
                    gone.extend(removals.flat_map(|e| e.paths.iter().cloned()));
                }
                if events.iter().any(|e| matters(e, &names)) {
                    poke();
                }
            }
            Err(errors) => {
                for err in errors {
                    tracing::warn!(error = %err, "file watcher reported an error");
                }
                // The watcher may have missed something: look at the file anyway.
                poke();
            }
        };
        let debouncer = new_debouncer(debounce, None, handler)
            .map_err(|source| Error::Watch { path: path.to_path_buf(), source })?;
        let mut follower =
            Follower { path: path.to_path_buf(), debouncer, watched: BTreeMap::new(), relevant, removed };
        follower.refresh()?;
        Ok(follower)
    }

    /// Watch the directories of the file's current symlink chain (they change when a link is
    /// swapped to another directory), and stop watching the ones it left. A directory that is
    /// missing (removed, perhaps to be made again) is waited for by watching its nearest
    /// existing parent; one that was removed and made again is watched again. Returns whether
    /// any watch was armed anew, so the caller re-reads the file it may have missed.
    pub fn refresh(&mut self) -> Result<bool, Error> {
        let Chain { dirs, paths } = chain(&self.path);
        let mut relevant: BTreeSet<PathBuf> = paths.union(&dirs).cloned().collect();
        let mut want = BTreeMap::new();
        for dir in &dirs {
            let (existing, id) = nearest_existing(dir);
            // The missing directories between it and the one wanted: their creation matters.
            relevant.extend(dir.ancestors().take_while(|a| *a != existing).map(Path::to_path_buf));
            want.insert(existing, id);
        }
        if let Ok(mut shared) = self.relevant.lock() {
            *shared = relevant;
        }
        let removed = self.removed.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default();
        let mut armed = false;
        for (dir, id) in &want {
            if self.watched.get(dir) == Some(id) && !removed.contains(dir) {
                continue;
            }
            if self.watched.contains_key(dir) {
                // Made again since it was armed: the old watch went with the old directory.
                let _ = self.debouncer.unwatch(dir);
                tracing::info!(dir = %dir.display(), "directory was made again; watching it again");
            }
            self.debouncer
                .watch(dir, RecursiveMode::NonRecursive)
                .map_err(|source| Error::Watch { path: dir.clone(), source })?;
            tracing::debug!(dir = %dir.display(), "watching directory");
            armed = true;
        }
        for dir in self.watched.keys().filter(|d| !want.contains_key(*d)) {
            // The directory may be gone already; nothing to undo then.
            let _ = self.debouncer.unwatch(dir);
        }
        self.watched = want;
        Ok(armed)
    }

    pub fn watched(&self) -> impl Iterator<Item = &Path> {
        self.watched.keys().map(PathBuf::as_path)
    }
}

/// An event matters when it names the file, a link on its way or a watched directory, and is
/// not just a read (our own reads open the file); a rescan request always matters.
fn matters(event: &notify::Event, relevant: &Mutex<BTreeSet<PathBuf>>) -> bool {
    if event.need_rescan() {
        return true;
    }
    let named = match relevant.lock() {
        Ok(relevant) => event.paths.iter().any(|p| relevant.contains(p)),
        Err(_) => true,
    };
    named && changes(&event.kind)
}

fn changes(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// The file's path through its symlinks, canonical where it matters.
#[derive(Debug, Default, PartialEq, Eq)]
struct Chain {
    /// The directory of every symlink the path resolves through (a swapped link shows there)
    /// and the directory the file finally lives in: after a link swap the set differs.
    dirs: BTreeSet<PathBuf>,
    /// The path, each link on its way and the final file, each in its canonical directory:
    /// the names events carry.
    paths: BTreeSet<PathBuf>,
}

impl Chain {
    fn add(&mut self, path: &Path) {
        if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
            let dir = canonical(parent);
            self.paths.insert(dir.join(name));
            self.dirs.insert(dir);
        }
    }
}

fn chain(path: &Path) -> Chain {
    let mut chain = Chain::default();
    let mut current = absolute(path);
    chain.add(&current);
    for _ in 0..40 {
        let Some(next) = resolve_first_link(&current, &mut chain) else { break };
        current = next;
    }
    chain.add(&current);
    chain
}

/// Replace the first symlink among the path's components by its target, noting the link.
fn resolve_first_link(path: &Path, chain: &mut Chain) -> Option<PathBuf> {
    let mut prefix = PathBuf::new();
    for component in path.components() {
        prefix.push(component);
        let Ok(target) = fs::read_link(&prefix) else { continue };
        chain.add(&prefix);
        let parent = prefix.parent()?;
        let rest = path.strip_prefix(&prefix).ok()?;
        return Some(absolute(&parent.join(target).join(rest)));
    }
    None
}

/// Device, inode and birth time: a directory made again may get the freed inode number back at
/// once, but not the birth time (where the file system records one).
type DirId = (u64, u64, Option<std::time::SystemTime>);

/// The directory itself when it exists, else its nearest existing ancestor; with its identity.
fn nearest_existing(dir: &Path) -> (PathBuf, DirId) {
    for candidate in dir.ancestors() {
        if let Ok(meta) = fs::metadata(candidate)
            && meta.is_dir()
        {
            return (candidate.to_path_buf(), (meta.dev(), meta.ino(), meta.created().ok()));
        }
    }
    (PathBuf::from("/"), (0, 0, None))
}

fn canonical(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The file's content and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub text: String,
    pub hash: u64,
}

impl Snapshot {
    pub fn read(path: &Path) -> io::Result<Snapshot> {
        // Only a regular file of bounded size: a FIFO put in its place must not block the loop.
        let text = crate::model::read_file(path).map_err(|e| match e {
            crate::model::ReadError::Io { source, .. } => source,
            other => io::Error::other(other),
        })?;
        Ok(Snapshot { hash: hash(&text), text })
    }

    /// 16 hex digits, for logs.
    pub fn hash_text(&self) -> String {
        format!("{:016x}", self.hash)
    }
}

fn hash(text: &str) -> u64 {
    // Fixed keys: the same content hashes the same for the life of the process (and in logs).
    let mut h = DefaultHasher::new();
    h.write(text.as_bytes());
    h.finish()
}

/// What a re-read found.
#[derive(Debug)]
pub enum Check {
    Changed(Snapshot),
    Same(Snapshot),
    Unreadable(io::Error),
}

/// Remembers the hash of the last content read, readable or not valid.
#[derive(Debug, Default)]
pub struct Detector {
    last: Option<u64>,
}

impl Detector {
    pub fn check(&mut self, path: &Path) -> Check {
        match Snapshot::read(path) {
            Err(err) => Check::Unreadable(err),
            Ok(snap) if self.last == Some(snap.hash) => Check::Same(snap),
            Ok(snap) => {
                self.last = Some(snap.hash);
                Check::Changed(snap)
            }
        }
    }

    /// Whether the file's content differs from the last read, without taking it as read.
    pub fn differs(&self, path: &Path) -> bool {
        Snapshot::read(path).is_ok_and(|snap| self.last != Some(snap.hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_different_content_is_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("director.yaml");
        fs::write(&file, "a: 1\n").unwrap();
        let mut d = Detector::default();
        assert!(matches!(d.check(&file), Check::Changed(s) if s.text == "a: 1\n"));
        assert!(matches!(d.check(&file), Check::Same(_)));
        fs::write(&file, "a: 1\n").unwrap();
        assert!(matches!(d.check(&file), Check::Same(_)));
        fs::write(&file, "a: 2\n").unwrap();
        assert!(matches!(d.check(&file), Check::Changed(s) if s.text == "a: 2\n"));
        fs::remove_file(&file).unwrap();
        assert!(matches!(d.check(&file), Check::Unreadable(e) if e.kind() == io::ErrorKind::NotFound));
        // Back with the content it had: not a change.
        fs::write(&file, "a: 2\n").unwrap();
        assert!(matches!(d.check(&file), Check::Same(_)));
    }

    #[test]
    fn directories_follow_the_symlink_chain() {
        let dir = tempfile::tempdir().unwrap();
        let (etc, repo) = (dir.path().join("etc"), dir.path().join("repo"));
        fs::create_dir_all(repo.join("v1")).unwrap();
        fs::create_dir_all(&etc).unwrap();
        fs::write(repo.join("v1/director.yaml"), "x").unwrap();
        std::os::unix::fs::symlink("v1", repo.join("..data")).unwrap();
        std::os::unix::fs::symlink(repo.join("..data/director.yaml"), etc.join("director.yaml")).unwrap();
        let canon = |p: PathBuf| fs::canonicalize(p).unwrap();
        let c = chain(&etc.join("director.yaml"));
        let want: BTreeSet<PathBuf> = [canon(etc.clone()), canon(repo.clone()), canon(repo.join("v1"))].into();
        assert_eq!(c.dirs, want);
        let names: BTreeSet<PathBuf> = [
            canon(etc.clone()).join("director.yaml"),
            canon(repo.clone()).join("..data"),
            canon(repo.join("v1")).join("director.yaml"),
        ]
        .into();
        assert_eq!(c.paths, names);

        // The Kubernetes swap: `..data` now points at v2, so v2 is watched instead of v1.
        fs::create_dir_all(repo.join("v2")).unwrap();
        fs::write(repo.join("v2/director.yaml"), "y").unwrap();
        std::os::unix::fs::symlink("v2", repo.join("..data_tmp")).unwrap();
        fs::rename(repo.join("..data_tmp"), repo.join("..data")).unwrap();
        let c = chain(&etc.join("director.yaml"));
        let want: BTreeSet<PathBuf> = [canon(etc), canon(repo.clone()), canon(repo.join("v2"))].into();
        assert_eq!(c.dirs, want);
    }

    #[test]
    fn only_events_naming_the_file_or_its_links_matter() {
        use notify::event::{CreateKind, ModifyKind};
        let relevant = Mutex::new(BTreeSet::from([PathBuf::from("/etc/lvsync/director.yaml")]));
        let event = |kind, path: &str| notify::Event::new(kind).add_path(PathBuf::from(path));
        let modify = EventKind::Modify(ModifyKind::Any);
        assert!(matters(&event(modify, "/etc/lvsync/director.yaml"), &relevant));
        assert!(!matters(&event(modify, "/etc/lvsync/watch.log"), &relevant));
        assert!(!matters(&event(EventKind::Create(CreateKind::File), "/etc/lvsync/.director.yaml.swp"), &relevant));
        let rename = event(EventKind::Modify(ModifyKind::Any), "/etc/lvsync/.director.yaml.swp")
            .add_path(PathBuf::from("/etc/lvsync/director.yaml"));
        assert!(matters(&rename, &relevant));
        let read = EventKind::Access(AccessKind::Close(AccessMode::Read));
        assert!(!matters(&event(read, "/etc/lvsync/director.yaml"), &relevant));
        let rescan = notify::Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan);
        assert!(matters(&rescan, &relevant));
    }

    #[test]
    fn own_reads_are_not_changes() {
        assert!(!changes(&EventKind::Access(AccessKind::Open(notify::event::AccessMode::Any))));
        assert!(!changes(&EventKind::Access(AccessKind::Close(AccessMode::Read))));
        assert!(changes(&EventKind::Access(AccessKind::Close(AccessMode::Write))));
        assert!(changes(&EventKind::Remove(notify::event::RemoveKind::File)));
    }
}
