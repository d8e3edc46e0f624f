//! Giving freed heap pages back to the kernel after a burst of short-lived allocations
//! (start-up, a reload).
//!
//! Why: glibc's allocator keeps the pages of freed memory mapped for reuse, and it only
//! returns them from the top of the heap on its own. Start-up with a thousand instances
//! frees a few megabytes of rtnetlink dumps and set-up copies in the middle of the heap,
//! which then stayed resident for the daemon's lifetime. `malloc_trim` releases every whole
//! free page (with `MADV_DONTNEED`), wherever it is; the allocator gets them back on demand.
#![allow(unsafe_code)]

/// Returns the heap's free pages to the kernel (glibc only; other C libraries: nothing).
pub(crate) fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks and trims the allocator's own free lists; it takes the
    // allocator's locks and has no preconditions on the caller.
    unsafe {
        libc::malloc_trim(0);
    }
}
