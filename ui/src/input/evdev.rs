//! Remote controls and keyboards through the kernel's evdev interface.
//!
//! IR remotes decoded by rc-core, USB remotes and keyboards all appear as
//! `/dev/input/event*` devices that send key codes. [`map_key`] turns the
//! codes a remote sends into [`Key`]s; [`EvdevInput`] opens every device that
//! has arrow keys, reads each on its own thread, and rescans the directory
//! whenever an entry appears in it or changes ([`DirWatch`], inotify), so a
//! remote receiver plugged in later is picked up at once (and one unplugged
//! is dropped when its read fails). Nothing polls: an idle UI does not wake.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use evdev::{Device, EventSummary, KeyCode};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use super::Key;
use super::KeySink;

/// The key a remote's (or keyboard's) key code means, if any.
pub fn map_key(code: KeyCode) -> Option<Key> {
    let key = match code {
        KeyCode::KEY_UP => Key::Up,
        KeyCode::KEY_DOWN => Key::Down,
        KeyCode::KEY_LEFT => Key::Left,
        KeyCode::KEY_RIGHT => Key::Right,
        KeyCode::KEY_OK | KeyCode::KEY_SELECT | KeyCode::KEY_ENTER | KeyCode::KEY_KPENTER => {
            Key::Ok
        }
        KeyCode::KEY_BACK | KeyCode::KEY_ESC | KeyCode::KEY_EXIT | KeyCode::KEY_BACKSPACE => {
            Key::Back
        }
        KeyCode::KEY_HOME | KeyCode::KEY_HOMEPAGE | KeyCode::KEY_MENU => Key::Home,
        KeyCode::KEY_PLAYPAUSE | KeyCode::KEY_PLAY | KeyCode::KEY_PAUSE | KeyCode::KEY_SPACE => {
            Key::PlayPause
        }
        _ => return digit(code).map(Key::Digit),
    };
    Some(key)
}

/// Digits: rc-core remotes send `KEY_NUMERIC_n` or `KEY_n`; keypads `KEY_KPn`.
fn digit(code: KeyCode) -> Option<u8> {
    const ROWS: [[KeyCode; 3]; 10] = [
        [KeyCode::KEY_0, KeyCode::KEY_NUMERIC_0, KeyCode::KEY_KP0],
        [KeyCode::KEY_1, KeyCode::KEY_NUMERIC_1, KeyCode::KEY_KP1],
        [KeyCode::KEY_2, KeyCode::KEY_NUMERIC_2, KeyCode::KEY_KP2],
        [KeyCode::KEY_3, KeyCode::KEY_NUMERIC_3, KeyCode::KEY_KP3],
        [KeyCode::KEY_4, KeyCode::KEY_NUMERIC_4, KeyCode::KEY_KP4],
        [KeyCode::KEY_5, KeyCode::KEY_NUMERIC_5, KeyCode::KEY_KP5],
        [KeyCode::KEY_6, KeyCode::KEY_NUMERIC_6, KeyCode::KEY_KP6],
        [KeyCode::KEY_7, KeyCode::KEY_NUMERIC_7, KeyCode::KEY_KP7],
        [KeyCode::KEY_8, KeyCode::KEY_NUMERIC_8, KeyCode::KEY_KP8],
        [KeyCode::KEY_9, KeyCode::KEY_NUMERIC_9, KeyCode::KEY_KP9],
    ];
    ROWS.iter()
        .position(|codes| codes.contains(&code))
        .and_then(|n| u8::try_from(n).ok())
}

/// Reads every remote and keyboard under a directory (normally `/dev/input`).
#[derive(Debug, Clone)]
pub struct EvdevInput {
    dir: PathBuf,
    rescan: Duration,
}

impl EvdevInput {
    /// Devices under `dir`, rescanned when it changes (every `rescan` where
    /// the directory cannot be watched).
    pub fn new(dir: impl Into<PathBuf>, rescan: Duration) -> Self {
        Self {
            dir: dir.into(),
            rescan,
        }
    }

    /// Starts the scanner thread; keys go to `sink` until it says the UI
    /// is gone.
    pub fn start(self, sink: KeySink) -> std::io::Result<()> {
        let open: Arc<Mutex<HashSet<PathBuf>>> = Arc::default();
        std::thread::Builder::new()
            .name("evdev-scan".into())
            .spawn(move || {
                // Watched before the first scan, so that nothing plugged in
                // between the two is missed.
                let watch = DirWatch::new(&self.dir, self.rescan);
                loop {
                    for path in candidates(&self.dir) {
                        let is_new = open
                            .lock()
                            .map(|mut set| set.insert(path.clone()))
                            .unwrap_or(false);
                        if is_new && !spawn_reader(&path, sink.clone(), Arc::clone(&open)) {
                            // Not a remote (or not readable): forget it, so a
                            // later rescan may try again (permissions change
                            // when udev finishes with a new device).
                            if let Ok(mut set) = open.lock() {
                                set.remove(&path);
                            }
                        }
                    }
                    // The receiving end is gone: the UI has quit.
                    if !sink(None) {
                        return;
                    }
                    watch.wait();
                }
            })?;
        Ok(())
    }
}

/// Waits for a directory to change: an entry created or moved in (a device
/// plugged in), or its attributes changed (udev granting access to a new
/// node a moment after it appears).
pub struct DirWatch {
    /// None where inotify is unavailable or the directory is missing: then
    /// [`DirWatch::wait`] sleeps `fallback` instead.
    inotify: Option<Inotify>,
    fallback: Duration,
}

impl DirWatch {
    /// Watches `dir`; where it cannot, waits `fallback` per call instead.
    pub fn new(dir: &Path, fallback: Duration) -> Self {
        let flags =
            AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO | AddWatchFlags::IN_ATTRIB;
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC)
            .and_then(|inotify| inotify.add_watch(dir, flags).map(|_| inotify));
        match inotify {
            Ok(inotify) => Self {
                inotify: Some(inotify),
                fallback,
            },
            Err(e) => {
                eprintln!(
                    "ottbox-ui: cannot watch {} ({e}); looking for new remotes every {fallback:?}",
                    dir.display()
                );
                Self {
                    inotify: None,
                    fallback,
                }
            }
        }
    }

    /// Returns once the directory has changed (or after the fallback wait).
    pub fn wait(&self) {
        let changed = self
            .inotify
            .as_ref()
            .is_some_and(|inotify| inotify.read_events().is_ok());
        if !changed {
            std::thread::sleep(self.fallback);
        }
    }

    /// Whether changes are seen as they happen (inotify), not by polling.
    pub fn is_watching(&self) -> bool {
        self.inotify.is_some()
    }
}

/// `event*` nodes under `dir`, sorted.
pub fn candidates(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("event"))
        })
        .collect();
    paths.sort();
    paths
}

/// Opens `path` and reads it on a thread if it has arrow keys; false if not.
fn spawn_reader(path: &Path, sink: KeySink, open: Arc<Mutex<HashSet<PathBuf>>>) -> bool {
    let Ok(mut device) = Device::open(path) else {
        return false;
    };
    let steers = device
        .supported_keys()
        .is_some_and(|keys| keys.contains(KeyCode::KEY_UP) && keys.contains(KeyCode::KEY_DOWN));
    if !steers {
        return false;
    }
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("evdev-read".into())
        .spawn(move || {
            'read: while let Ok(events) = device.fetch_events() {
                for event in events {
                    // 1 = press, 2 = auto-repeat (holding an arrow scrolls); 0 = release.
                    if let EventSummary::Key(_, code, 1 | 2) = event.destructure()
                        && let Some(key) = map_key(code)
                        && !sink(Some(key))
                    {
                        break 'read;
                    }
                }
            }
            // Unplugged (or the UI quit): let a rescan find it again.
            if let Ok(mut set) = open.lock() {
                set.remove(&path);
            }
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_keys_map_to_ui_keys() {
        assert_eq!(map_key(KeyCode::KEY_UP), Some(Key::Up));
        assert_eq!(map_key(KeyCode::KEY_OK), Some(Key::Ok));
        assert_eq!(map_key(KeyCode::KEY_BACK), Some(Key::Back));
        assert_eq!(map_key(KeyCode::KEY_HOMEPAGE), Some(Key::Home));
        assert_eq!(map_key(KeyCode::KEY_PLAYPAUSE), Some(Key::PlayPause));
        assert_eq!(map_key(KeyCode::KEY_NUMERIC_7), Some(Key::Digit(7)));
        assert_eq!(map_key(KeyCode::KEY_0), Some(Key::Digit(0)));
        assert_eq!(map_key(KeyCode::KEY_VOLUMEUP), None);
    }

    #[test]
    fn only_event_nodes_are_candidates_and_other_files_are_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["event1", "event0", "mice", "js0"] {
            std::fs::write(dir.path().join(name), b"not a device").expect("write");
        }
        let found = candidates(dir.path());
        assert_eq!(
            found,
            vec![dir.path().join("event0"), dir.path().join("event1")]
        );
        // A regular file is not an input device: refused, not a panic.
        let open = Arc::default();
        assert!(!spawn_reader(&found[0], Arc::new(|_| true), open));
        assert!(candidates(&dir.path().join("missing")).is_empty());
    }

    #[test]
    fn a_node_created_later_wakes_the_watch_without_polling() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A fallback of an hour: only a real change can end the wait in time.
        let watch = DirWatch::new(dir.path(), Duration::from_secs(3600));
        assert!(watch.is_watching());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            watch.wait();
            let _ = tx.send(());
        });
        std::thread::sleep(Duration::from_millis(50));
        assert!(rx.try_recv().is_err(), "nothing changed yet");
        std::fs::write(dir.path().join("event3"), b"plugged in").expect("write");
        assert!(
            rx.recv_timeout(Duration::from_secs(10)).is_ok(),
            "the new node woke the watch"
        );
    }

    #[test]
    fn a_missing_directory_falls_back_to_waiting() {
        let dir = tempfile::tempdir().expect("tempdir");
        let watch = DirWatch::new(&dir.path().join("input"), Duration::from_millis(1));
        assert!(!watch.is_watching());
        watch.wait();
    }
}
