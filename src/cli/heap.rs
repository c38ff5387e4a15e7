//! The heap of a one-shot `plan` or `apply`: one arena for both of its threads, its pages
//! populated ahead, in one call per block, for what the file will need.
//!
//! `plan` and `apply` parse the file on one thread while the other reads the IPVS table.
//! - **One arena.** glibc gives a second thread an arena of its own, so the pages the parse
//!   thread frees are never reused by the table read and the planning that follow. At 20,000
//!   services x 8 a `plan` touched 29,000 pages (110 MiB) with two arenas and 22,000 (85 MiB)
//!   with one.
//! - **Populated ahead.** Every page either thread touches is otherwise faulted in one at a
//!   time, and where a page fault is dear that is most of the run. In User-Mode Linux, at 2,000
//!   services x 8, parsing the file took 250-700 ms, nearly all of it 1,070 page faults; with
//!   the heap populated first (2-5 ms for 8 MiB), 20-60 ms, and the whole `plan` went from
//!   1.2 s to 0.7 s (figures in the README). On a real kernel populating is the work the
//!   faults would do, without a trap per page.
//!
//! Only `plan` and `apply` call this: `watch` keeps glibc's defaults for its probing threads,
//! and the other one-shot commands run on one thread.

/// Populated heap per byte of the file: below what a `plan` uses (anonymous memory over the
/// file's size was 11.6 at 2,000 services x 8 and 8.9 at 20,000), so that it adds nothing to
/// the peak.
const PER_FILE_BYTE: usize = 8;
/// At most this much is populated.
const MAX: usize = 64 << 20;
/// Below this there is little to gain (a file under 128 KiB: some hundreds of services).
const MIN: usize = 1 << 20;
/// One block of the populating. glibc serves blocks up to its mmap threshold from the heap,
/// and refuses a threshold above 32 MiB on 64-bit machines.
const BLOCK: usize = 8 << 20;

/// Call before the process starts a second thread.
pub(super) fn prepare_for(file_len: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes tunables of the allocator; called before any second
        // thread of this process starts, it cannot race an allocation on another arena.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
        let want = file_len.saturating_mul(PER_FILE_BYTE).min(MAX);
        if want >= MIN {
            populate(want);
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = file_len;
}

/// Grow the heap by `bytes` and fault its pages in with one `madvise` per block, then give the
/// blocks back to the allocator, which keeps them (they are below its trim threshold) and
/// serves the run's allocations from them. Where `MADV_POPULATE_WRITE` is missing (Linux before
/// 5.14) the pages are faulted in as they are used, as without this.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn populate(bytes: usize) {
    let page = page_size();
    let blocks = bytes.div_ceil(BLOCK);
    let as_int = |n: usize| libc::c_int::try_from(n).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt changes tunables only. Each block is an allocation of BLOCK bytes that
    // this function owns until it frees it; madvise is given a page-aligned range inside it.
    unsafe {
        // Blocks of BLOCK bytes come from the heap, not from mappings of their own; and what
        // is freed stays in the heap for the rest of the run (glibc's own dynamic thresholds
        // would rise the same way after the first large free).
        libc::mallopt(libc::M_MMAP_THRESHOLD, as_int(BLOCK + page));
        libc::mallopt(libc::M_TRIM_THRESHOLD, as_int(blocks * BLOCK * 2));
        let mut held = Vec::with_capacity(blocks);
        for _ in 0..blocks {
            let p = libc::malloc(BLOCK);
            if p.is_null() {
                break;
            }
            let start = (p as usize).next_multiple_of(page);
            let len = (p as usize + BLOCK - start) / page * page;
            held.push(p);
            if libc::madvise(start as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE) != 0 {
                break;
            }
        }
        for p in held {
            libc::free(p);
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn page_size() -> usize {
    // SAFETY: sysconf only reads a system constant.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// How many of the pages under `[ptr, ptr + len)` are resident.
    fn resident_pages(ptr: *const u8, len: usize) -> usize {
        let page = page_size();
        let start = (ptr as usize).next_multiple_of(page);
        let pages = (ptr as usize + len - start) / page;
        let mut vec = vec![0u8; pages];
        // SAFETY: the range is page-aligned, inside one live allocation, and `vec` has a byte
        // per page of it.
        let rc = unsafe { libc::mincore(start as *mut libc::c_void, pages * page, vec.as_mut_ptr()) };
        assert_eq!(rc, 0, "mincore: {}", std::io::Error::last_os_error());
        vec.iter().filter(|b| **b & 1 == 1).count()
    }

    #[test]
    fn what_a_plan_allocates_after_populating_is_already_in_memory() {
        // Without: a large allocation that nothing has written yet has no pages.
        let before: Vec<u8> = Vec::with_capacity(12 << 20);
        assert_eq!(resident_pages(before.as_ptr(), 12 << 20), 0);
        drop(before);

        // The allocator hands out the populated pages: nothing is faulted in on first use.
        populate(24 << 20);
        let after: Vec<u8> = Vec::with_capacity(12 << 20);
        let pages = (12 << 20) / page_size();
        assert!(resident_pages(after.as_ptr(), 12 << 20) >= pages - 1, "the allocation's pages are resident");
    }
}
