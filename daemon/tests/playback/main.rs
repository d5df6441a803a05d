//! Playback through D-Bus, as the UI drives it: the real `ottboxd`, a
//! private dbus-daemon, a headend serving real encrypted media (ffmpeg +
//! Shaka Packager, cenc and cbcs), real GStreamer decoding to a fakesink
//! that keeps its last picture. One test binary (its tests run side by
//! side), one file per thing a viewer notices.
//!
//! Proof of decryption is the picture: `Player1.Snapshot` returns the
//! frame on screen and its corner must be the title's palette colour,
//! which only correctly decrypted and decoded video has.

mod ads;
mod delivery;
mod faults;
mod languages;
mod prefetch;
mod start;
