//! Following the file the way files really change: editors rename a temporary file over it,
//! `git checkout` removes and re-creates it, config management writes it in place, Kubernetes
//! swaps a `..data` symlink. None of these is reliably visible on the file itself, so the
//! directories along its symlink chain are watched, any event there re-reads the file, and only
//! a different content hash counts as a change.

use std::collections::BTreeSet;
use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::Hasher;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

/// Events closer together than this are handled as one: long enough to cover a truncate and
/// the write after it, short enough to keep edit-to-kernel latency low.
pub const DEBOUNCE: Duration = Duration::from_millis(50);

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
    watched: BTreeSet<PathBuf>,
}

impl Follower {
    pub fn start(path: &Path, debounce: Duration, poke: impl Fn() + Send + 'static) -> Result<Follower, Error> {
        let handler = move |result: DebounceEventResult| match result {
            Ok(events) if events.iter().any(|e| matters(&e.kind)) => poke(),
            Ok(_) => {}
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
        let mut follower = Follower { path: path.to_path_buf(), debouncer, watched: BTreeSet::new() };
        follower.refresh()?;
        Ok(follower)
    }

    /// Watch the directories of the file's current symlink chain (they change when a link is
    /// swapped to another directory), and stop watching the ones it left.
    pub fn refresh(&mut self) -> Result<(), Error> {
        let want = directories(&self.path);
        for dir in want.difference(&self.watched) {
            self.debouncer
                .watch(dir, RecursiveMode::NonRecursive)
                .map_err(|source| Error::Watch { path: dir.clone(), source })?;
            tracing::debug!(dir = %dir.display(), "watching directory");
        }
        for dir in self.watched.difference(&want) {
            // The directory may be gone already; nothing to undo then.
            let _ = self.debouncer.unwatch(dir);
        }
        self.watched = want;
        Ok(())
    }

    pub fn watched(&self) -> impl Iterator<Item = &Path> {
        self.watched.iter().map(PathBuf::as_path)
    }
}

/// Our own reads open the file: opening and reading are not changes.
fn matters(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// The directory of every symlink the path resolves through (a swapped link shows there) and
/// the directory the file finally lives in, all canonical: after a link swap the set differs.
fn directories(path: &Path) -> BTreeSet<PathBuf> {
    let mut dirs = BTreeSet::new();
    let mut current = absolute(path);
    if let Some(parent) = current.parent() {
        dirs.insert(canonical(parent));
    }
    for _ in 0..40 {
        let Some(next) = resolve_first_link(&current, &mut dirs) else { break };
        current = next;
    }
    if let Some(parent) = current.parent() {
        dirs.insert(canonical(parent));
    }
    dirs
}

/// Replace the first symlink among the path's components by its target; note its directory.
fn resolve_first_link(path: &Path, dirs: &mut BTreeSet<PathBuf>) -> Option<PathBuf> {
    let mut prefix = PathBuf::new();
    for component in path.components() {
        prefix.push(component);
        let Ok(target) = fs::read_link(&prefix) else { continue };
        let parent = prefix.parent()?;
        dirs.insert(canonical(parent));
        let rest = path.strip_prefix(&prefix).ok()?;
        return Some(absolute(&parent.join(target).join(rest)));
    }
    None
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
        let text = fs::read_to_string(path)?;
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
        let dirs = directories(&etc.join("director.yaml"));
        let want: BTreeSet<PathBuf> = [canon(etc.clone()), canon(repo.clone()), canon(repo.join("v1"))].into();
        assert_eq!(dirs, want);

        // The Kubernetes swap: `..data` now points at v2, so v2 is watched instead of v1.
        fs::create_dir_all(repo.join("v2")).unwrap();
        fs::write(repo.join("v2/director.yaml"), "y").unwrap();
        std::os::unix::fs::symlink("v2", repo.join("..data_tmp")).unwrap();
        fs::rename(repo.join("..data_tmp"), repo.join("..data")).unwrap();
        let dirs = directories(&etc.join("director.yaml"));
        let want: BTreeSet<PathBuf> = [canon(etc), canon(repo.clone()), canon(repo.join("v2"))].into();
        assert_eq!(dirs, want);
    }

    #[test]
    fn own_reads_are_not_changes() {
        assert!(!matters(&EventKind::Access(AccessKind::Open(notify::event::AccessMode::Any))));
        assert!(!matters(&EventKind::Access(AccessKind::Close(AccessMode::Read))));
        assert!(matters(&EventKind::Access(AccessKind::Close(AccessMode::Write))));
        assert!(matters(&EventKind::Remove(notify::event::RemoveKind::File)));
    }
}
