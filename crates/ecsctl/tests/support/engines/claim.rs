//! Who holds slot K. Tests run in parallel processes (nextest), so the claim goes through
//! the kernel: an abstract unix socket named after the slot, which exactly one process can
//! bind and which is freed when that process dies (however it dies). Beside it, the lock
//! file records the holder's pid. A pid alone could not say whether its holder lives: this
//! machine's `pid_max` is 32768, and pids come round within a test run.

use std::fs;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};

use anyhow::{Context, Result, bail};

use super::footprint;
use super::slot::{LOCK_DIR, LockRecord, Slot};

/// Removes the lock once nothing of the slot is left (`left` is empty), and says whether it
/// did; otherwise the lock stays, so that a later sweep tries again (its pid will be dead
/// by then).
pub fn release(slot: Slot, left: &[String]) -> bool {
    if left.is_empty() {
        let _ = fs::remove_file(slot.lock_path());
        return true;
    }
    false
}

/// Says what a clean-up could not remove (the lock stays for the next sweep).
fn report(slot: Slot, left: &[String]) {
    eprintln!(
        "engine slot {}: left behind (the next sweep retries):\n  {}",
        slot.number(),
        left.join("\n  ")
    );
}

/// Removes what a dead holder left in the slot, then its lock.
fn clean_stale(slot: Slot) -> bool {
    let left = footprint::remove(slot);
    let done = release(slot, &left);
    if !done {
        report(slot, &left);
    }
    done
}

/// Holds the slot's mutex, or `None` when a live process holds it.
pub fn hold(slot: Slot) -> Result<Option<UnixListener>> {
    let addr = SocketAddr::from_abstract_name(slot.mutex_name().as_bytes())?;
    match UnixListener::bind_addr(&addr) {
        Ok(l) => Ok(Some(l)),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => Ok(None),
        Err(e) => Err(e).context("bind the slot's abstract socket"),
    }
}

/// The first slot that is free, or was left by a crashed run (cleaned first). A slot
/// whose bridge or directory exists with no lock record is someone else's: skipped.
pub fn claim() -> Result<(Slot, UnixListener)> {
    fs::create_dir_all(LOCK_DIR)?;
    for slot in Slot::all() {
        let Some(mutex) = hold(slot)? else {
            continue;
        };
        let usable = match read_record(slot) {
            Ok(Some(_stale)) => clean_stale(slot),
            Ok(None) => footprint::leftovers(slot).is_empty(),
            Err(_) => false,
        };
        if !usable {
            continue;
        }
        let record = LockRecord {
            slot,
            pid: std::process::id(),
        };
        fs::write(slot.lock_path(), record.render())?;
        return Ok((slot, mutex));
    }
    bail!("no free slot among {:?}", Slot::all().count())
}

/// The lock record of a slot; `None` when there is no file or it is empty.
fn read_record(slot: Slot) -> Result<Option<LockRecord>, String> {
    match fs::read_to_string(slot.lock_path()) {
        Ok(text) => LockRecord::parse(&text, slot),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Cleans the slots whose lock names a process that died (a crashed or killed test run):
/// exactly what each such slot made, then its lock. Returns the slots cleaned. Run once per
/// process by [`ExtraEngine::start`]; safe beside live engines (their slots are held).
pub fn sweep() -> Vec<Slot> {
    let Ok(dir) = fs::read_dir(LOCK_DIR) else {
        return Vec::new();
    };
    let mut cleaned = Vec::new();
    for slot in dir.filter_map(|e| Slot::from_lock_file_name(e.ok()?.file_name().to_str()?)) {
        let Ok(Some(_mutex)) = hold(slot) else {
            continue;
        };
        let done = match read_record(slot) {
            Ok(Some(_)) => clean_stale(slot),
            // Its writer died before making anything.
            Ok(None) => release(slot, &[]),
            Err(e) => {
                eprintln!("{}: left alone: {e}", slot.lock_path().display());
                false
            }
        };
        if done {
            cleaned.push(slot);
        }
    }
    cleaned
}
