//! Helpers for ottbox's end-to-end tests: starting the real processes
//! (headend, nginx edges, dbus-daemon, ottboxd, UI) on free loopback ports
//! and tearing them down. The tests themselves live in `tests/tests/`.
