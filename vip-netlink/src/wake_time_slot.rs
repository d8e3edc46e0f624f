//! Where each wake program keeps its wake time: one 64-bit word in a page shared by up to
//! a page's worth of programs (512 on 4 KiB pages), not a map and a mapped page each.
//!
//! Why: the time lives in a `BPF_F_MMAPABLE` array map so that moving it costs no system
//! call, and a mapping is at least a page. With a map per socket a thousand instances kept a
//! thousand pages resident (4 MiB, a tenth of the daemon). A program reaches its own word
//! through the offset of its `BPF_PSEUDO_MAP_VALUE` load, which the verifier bounds-checks
//! against the value size.
//!
//! The pages are process-wide and never given back (a page for every 512 programs alive at
//! the same time, at most); a slot is returned to the pool when its program is dropped.
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use crate::wake_program::{bpf, BPF_F_MMAPABLE, BPF_MAP_CREATE, BPF_MAP_TYPE_ARRAY};

/// One word of a shared page, owned by one wake program until dropped.
#[derive(Debug)]
pub(crate) struct WakeTimeSlot {
    page: Arc<SlotPage>,
    /// The page's index in the pool, to give the slot back.
    page_index: usize,
    index: usize,
}

impl WakeTimeSlot {
    /// Takes a free slot, mapping a new page when every page is full.
    pub(crate) fn take() -> io::Result<WakeTimeSlot> {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((page_index, index)) = pool.free.pop() {
            let page = Arc::clone(&pool.pages[page_index]);
            return Ok(WakeTimeSlot {
                page,
                page_index,
                index,
            });
        }
        let page = Arc::new(SlotPage::create()?);
        let page_index = pool.pages.len();
        let slots = page.slots();
        pool.pages.push(Arc::clone(&page));
        // Handed out from the lowest index up (popped from the end).
        pool.free.extend((1..slots).rev().map(|i| (page_index, i)));
        Ok(WakeTimeSlot {
            page,
            page_index,
            index: 0,
        })
    }

    /// The map a program loads its word from.
    pub(crate) fn map_fd(&self) -> RawFd {
        self.page.map.as_raw_fd()
    }

    /// The word's offset in the map's value, for the program's load.
    pub(crate) fn offset(&self) -> i32 {
        (self.index * 8) as i32
    }

    /// The word, shared with the program.
    pub(crate) fn word(&self) -> &AtomicU64 {
        self.page.word(self.index)
    }
}

impl Drop for WakeTimeSlot {
    fn drop(&mut self) {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        pool.free.push((self.page_index, self.index));
    }
}

/// Every page mapped so far and the free slots among them.
struct Pool {
    pages: Vec<Arc<SlotPage>>,
    free: Vec<(usize, usize)>,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    pages: Vec::new(),
    free: Vec::new(),
});

/// A one-entry array map whose value is a page of words, mapped into our memory.
#[derive(Debug)]
struct SlotPage {
    map: OwnedFd,
    base: std::ptr::NonNull<libc::c_void>,
    len: usize,
}

impl SlotPage {
    fn create() -> io::Result<SlotPage> {
        // SAFETY: sysconf has no memory preconditions.
        let len = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
            .unwrap_or(4096)
            .max(8);
        // struct { map_type, key_size, value_size, max_entries, map_flags } as u32s.
        let map_attr = [
            u64::from(BPF_MAP_TYPE_ARRAY) | (4u64 << 32),
            len as u64 | (1u64 << 32),
            u64::from(BPF_F_MMAPABLE),
        ];
        let map = bpf(BPF_MAP_CREATE, &map_attr)?;
        // SAFETY: mapping the value area of a BPF_F_MMAPABLE array map, shared, exactly its
        // size (one page); checked for MAP_FAILED.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                map.as_raw_fd(),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = std::ptr::NonNull::new(addr).ok_or_else(|| io::Error::other("mmap: null"))?;
        Ok(SlotPage { map, base, len })
    }

    fn slots(&self) -> usize {
        self.len / 8
    }

    fn word(&self, index: usize) -> &AtomicU64 {
        assert!(index < self.slots(), "slot {index} beyond the page");
        // SAFETY: the page stays mapped while `self` lives; `index * 8` is inside it (checked
        // above) and 8-aligned on a page-aligned base, so aligned for u64; the word is only
        // accessed atomically (by us, and by the program's aligned 64-bit load).
        unsafe { &*(self.base.as_ptr().cast::<u8>().add(index * 8) as *const AtomicU64) }
    }
}

impl Drop for SlotPage {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping made in `create`; no borrow outlives `self`.
        unsafe {
            libc::munmap(self.base.as_ptr(), self.len);
        }
    }
}

// SAFETY: the mapping is only accessed through `word()`, an `AtomicU64`, which is safe to
// share and send between threads.
unsafe impl Send for SlotPage {}
// SAFETY: as above.
unsafe impl Sync for SlotPage {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    /// Needs CAP_BPF (CI runs as root); skipped without it.
    #[test]
    fn slots_share_a_page_are_distinct_and_come_back() {
        let a = match WakeTimeSlot::take() {
            Ok(s) => s,
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => return,
            Err(e) => panic!("{e}"),
        };
        let b = WakeTimeSlot::take().unwrap();
        if a.page_index == b.page_index {
            assert_eq!(a.map_fd(), b.map_fd());
            assert_ne!(a.offset(), b.offset());
        }
        a.word().store(1, Ordering::Release);
        b.word().store(2, Ordering::Release);
        assert_eq!(a.word().load(Ordering::Acquire), 1);
        let (page, index) = (b.page_index, b.index);
        drop(b);
        let c = WakeTimeSlot::take().unwrap();
        assert_eq!(
            (c.page_index, c.index),
            (page, index),
            "the freed slot is reused"
        );
    }
}
