//! File descriptors for probing: every probe in flight holds a socket (an `exec` check a few
//! pipes), and 16,000 targets every 2 s that all time out keep 8,000 of them open at once; a
//! `keep_alive` HTTP check holds its connection between probes too. A daemon starts with a soft
//! limit of 1,024 (systemd's default) under a hard limit of 524,288: the prober raises the soft
//! limit to the hard one, and counts the descriptors its probes may hold below it, so that a
//! burst of slow targets makes probes wait their turn instead of failing with "too many open
//! files" (which would take healthy real servers out) or starving the reconciles of descriptors.
//!
//! The count is one semaphore of descriptors: a probe takes what it may open (an `exec` check
//! [`PER_EXEC`], others one) and gives it back when it ends, unless it keeps its connection, which
//! then keeps its descriptor. Kept connections may take at most [`kept`] of them, so that probes
//! that open sockets always find some; past that, a `keep_alive` check closes its connection
//! after each probe, as the others do.

use std::io;

/// Descriptors kept for everything else: the watch loop, netlink, iptables, metrics clients.
const RESERVE: u64 = 512;
/// What an `exec` probe may hold at most: the pipes of its child.
pub const PER_EXEC: u32 = 4;
const MIN_DESCRIPTORS: usize = 64;
const MAX_DESCRIPTORS: usize = 1 << 20;

/// Raise the soft RLIMIT_NOFILE of this process to its hard limit; returns the soft limit now in
/// force (the old one when raising failed, with the error).
pub fn raise_nofile() -> (u64, Option<io::Error>) {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit(2) writes the struct it is given and nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return (1024, Some(io::Error::last_os_error()));
    }
    if lim.rlim_cur >= lim.rlim_max {
        return (lim.rlim_cur, None);
    }
    let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
    // SAFETY: setrlimit(2) reads the struct it is given; raising the soft limit up to the hard
    // one needs no privilege.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return (lim.rlim_cur, Some(io::Error::last_os_error()));
    }
    (lim.rlim_max, None)
}

/// How many descriptors probes may hold under a soft limit of `nofile`.
pub fn descriptors(nofile: u64) -> usize {
    let free = nofile.saturating_sub(RESERVE);
    usize::try_from(free).unwrap_or(MAX_DESCRIPTORS).clamp(MIN_DESCRIPTORS, MAX_DESCRIPTORS)
}

/// How many of those may be connections kept open between probes: all but an eighth.
pub fn kept(nofile: u64) -> usize {
    let d = descriptors(nofile);
    d - d / 8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_leaves_room_for_the_daemon_and_for_probes_that_open_sockets() {
        assert_eq!((descriptors(1024), kept(1024)), (512, 448));
        assert_eq!((descriptors(20_000), kept(20_000)), (19_488, 17_052));
        assert_eq!(descriptors(524_288), 523_776);
        assert_eq!((descriptors(100), kept(100)), (MIN_DESCRIPTORS, 56));
        assert_eq!(descriptors(u64::MAX), MAX_DESCRIPTORS);
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        let mut before = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit(2) writes the struct it is given.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut before) }, 0);
        let (now, err) = raise_nofile();
        assert!(err.is_none(), "{err:?}");
        assert_eq!(now, before.rlim_max);
        assert!(now >= before.rlim_cur);
    }
}
