//! Atomic publishing: build in a staging directory, then rename into place.
//!
//! A title appears on the origin whole or not at all. The staging directory
//! sits on the same file system as the origin (both under the data
//! directory), so the final step is a `rename`, which is atomic. The
//! database row is written after the files are in place; if that fails, the
//! files are rolled back. Dropping a [`Staging`] that was not published
//! removes it, so an error anywhere leaves nothing behind.

use std::path::{Path, PathBuf};

use rand::RngCore;

use super::IngestError;
use crate::db::{Db, DbError};

/// A staging area for one ingest: `work/` for intermediate files, `out/` for
/// what will be published.
#[derive(Debug)]
pub struct Staging {
    root: PathBuf,
    title: String,
}

impl Staging {
    /// Creates `<staging>/<title>.<pid>-<random>/{work,out}`, first
    /// removing what ingests that were killed left behind.
    pub fn new(staging: &Path, title: &str) -> Result<Self, IngestError> {
        sweep(staging);
        let mut tag = [0u8; 6];
        rand::rng().fill_bytes(&mut tag);
        // Absolute: the packager runs inside out/ and must still find work/.
        let root = std::path::absolute(staging)?.join(format!(
            "{title}.{}-{}",
            std::process::id(),
            hex::encode(tag)
        ));
        std::fs::create_dir_all(root.join("work"))?;
        std::fs::create_dir_all(root.join("out"))?;
        Ok(Self {
            root,
            title: title.to_owned(),
        })
    }

    /// Intermediate files.
    pub fn work(&self) -> PathBuf {
        self.root.join("work")
    }

    /// What will be published.
    pub fn out(&self) -> PathBuf {
        self.root.join("out")
    }

    /// Moves `out/` to `<origin>/<title>` (replacing any earlier version),
    /// then runs `record`; undoes the move if `record` fails.
    pub fn publish(
        self,
        origin: &Path,
        record: impl FnOnce(&Db) -> Result<(), DbError>,
        db: &Db,
    ) -> Result<(), IngestError> {
        std::fs::create_dir_all(origin)?;
        let target = origin.join(&self.title);
        let old = origin.join(format!(".{}.old-{}", self.title, self.tag()));
        let had_old = target.exists();
        if had_old {
            std::fs::rename(&target, &old)?;
        }
        if let Err(e) = std::fs::rename(self.out(), &target) {
            if had_old {
                let _ = std::fs::rename(&old, &target);
            }
            return Err(e.into());
        }
        if let Err(e) = record(db) {
            let _ = std::fs::remove_dir_all(&target);
            if had_old {
                let _ = std::fs::rename(&old, &target);
            }
            return Err(e.into());
        }
        if had_old {
            let _ = std::fs::remove_dir_all(&old);
        }
        Ok(())
    }

    fn tag(&self) -> String {
        self.root
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Removes staging directories whose ingest process is gone (killed, or the
/// machine lost power): their owner's pid is in the name. Other ingests
/// running beside this one keep theirs.
fn sweep(staging: &Path) {
    let Ok(entries) = std::fs::read_dir(staging) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .rsplit_once('.')
            .and_then(|(_, rest)| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            tracing::info!(dir = %name, "removing what an interrupted ingest left in staging");
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
