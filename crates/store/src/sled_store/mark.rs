//! The acknowledged-revision mark: a small file beside the database holding the revision of
//! the last write that was flushed and acknowledged. sled recovers a damaged log by cutting
//! it at the first bad entry, which would silently drop acknowledged writes; comparing the
//! recovered revision with the mark turns that into a refusal to start, with a way out.

use crate::StoreError;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// File name of the mark, inside the store directory.
pub(super) const MARK_FILE: &str = "acknowledged-revision";

/// The open mark file.
#[derive(Debug)]
pub(super) struct Mark {
    file: File,
}

impl Mark {
    /// Opens the mark and checks the store's recovered `revision` against it.
    pub(super) fn open(dir: &Path, revision: u64) -> Result<Mark, StoreError> {
        let path = dir.join(MARK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| io(&path, e))?;
        if let Ok(b) = <[u8; 8]>::try_from(bytes.as_slice()) {
            let acknowledged = u64::from_be_bytes(b);
            if acknowledged > revision {
                return Err(StoreError::Backend(format!(
                    "the store in {} recovered at revision {revision}, but revision {acknowledged} was acknowledged: \
                     its files were truncated or corrupted and writes would be lost. Restore the directory from a \
                     backup; or, to accept losing the writes after revision {revision}, delete {} and start again",
                    dir.display(),
                    path.display()
                )));
            }
        }
        let mut mark = Mark { file };
        mark.set(revision).map_err(|e| io(&path, e))?;
        Ok(mark)
    }

    /// Records an acknowledged revision (8 bytes at offset 0, synced).
    pub(super) fn set(&mut self, revision: u64) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(&revision.to_be_bytes())?;
        self.file.sync_data()
    }
}

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("cannot use {}: {e}", path.display()))
}
