//! File descriptors for probing: every probe in flight holds a socket (an `exec` check a few
//! pipes), and 16,000 targets every 2 s that all time out keep 8,000 of them open at once. A
//! daemon starts with a soft limit of 1,024 (systemd's default) under a hard limit of 524,288: the
//! prober raises the soft limit to the hard one, and caps the probes in flight below it, so that
//! a burst of slow targets makes probes wait their turn instead of failing with "too many open
//! files" (which would take healthy real servers out) or starving the reconciles of descriptors.

use std::io;

/// Descriptors kept for everything else: the watch loop, netlink, iptables, metrics clients.
const RESERVE: u64 = 512;
/// What one probe may hold at most (an `exec` check: the pipes of its child).
const PER_PROBE: u64 = 4;
const MIN_IN_FLIGHT: usize = 16;
const MAX_IN_FLIGHT: usize = 65_536;

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

/// How many probes may be in flight under a soft limit of `nofile` descriptors.
pub fn in_flight(nofile: u64) -> usize {
    let free = nofile.saturating_sub(RESERVE) / PER_PROBE;
    usize::try_from(free).unwrap_or(MAX_IN_FLIGHT).clamp(MIN_IN_FLIGHT, MAX_IN_FLIGHT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_daemon_and_stays_within_bounds() {
        assert_eq!(in_flight(1024), 128);
        assert_eq!(in_flight(524_288), 130_944.min(MAX_IN_FLIGHT));
        assert_eq!(in_flight(100), MIN_IN_FLIGHT);
        assert_eq!(in_flight(u64::MAX), MAX_IN_FLIGHT);
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
