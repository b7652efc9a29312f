//! Run-time tuning of jemalloc (cordium's allocator, set in its binary): the one call that
//! needs `unsafe`, kept out of the `cordium` crate, which forbids it.
//!
//! The binary is built to hand freed pages back to the system at once (`dirty_decay_ms:0`,
//! `.cargo/config.toml`): a plan or a validate reaches its peak once and exits, and what it
//! frees between long-lived objects would otherwise stay resident. A long run of small
//! requests (`cordium serve`, an apply's steps) pays for that in system time, one `madvise`
//! after another, and sets a delay back with [`keep_freed_pages`].

/// Keeps freed pages for about `ms` milliseconds before they go back to the system (jemalloc's
/// `dirty_decay_ms`), in every arena and in arenas created later. An error (jemalloc not the
/// allocator's implementation here, or refusing the value) is returned as text; nothing else
/// changes.
pub fn keep_freed_pages(ms: isize) -> Result<(), String> {
    // SAFETY: `arenas.dirty_decay_ms` is jemalloc's read-write control of type `ssize_t`, which
    // is `isize`, the type written; the name is NUL-terminated, as `raw::write` requires.
    unsafe { tikv_jemalloc_ctl::raw::write(b"arenas.dirty_decay_ms\0", ms) }
        .map_err(|e| format!("arenas.dirty_decay_ms: {e}"))?;
    let narenas = tikv_jemalloc_ctl::arenas::narenas::read().map_err(|e| e.to_string())?;
    for i in 0..narenas {
        let name = format!("arena.{i}.dirty_decay_ms\0");
        // SAFETY: as above, for arena `i` (below `arenas.narenas`). An arena not created yet
        // refuses (EFAULT); it takes the default just set when it is.
        let _ = unsafe { tikv_jemalloc_ctl::raw::write(name.as_bytes(), ms) };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[global_allocator]
    static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

    #[test]
    fn the_delay_is_set_for_new_arenas() {
        super::keep_freed_pages(1234).expect("set");
        // SAFETY: the same control, read as its type.
        let ms: isize =
            unsafe { tikv_jemalloc_ctl::raw::read(b"arenas.dirty_decay_ms\0") }.expect("read");
        assert_eq!(ms, 1234);
    }
}
