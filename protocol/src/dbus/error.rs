//! `io.ottbox.Error.*`: the errors every ottbox D-Bus method can return.

use zbus::DBusError;

/// An error from `ottboxd`, as a D-Bus error name and a human sentence.
///
/// The variant names are the last part of the D-Bus error name
/// (`RegionBlocked` is `io.ottbox.Error.RegionBlocked`); they never change
/// once shipped. Callers branch on the variant and show the message.
#[derive(Debug, DBusError, PartialEq)]
#[zbus(prefix = "io.ottbox.Error")]
#[non_exhaustive]
pub enum Error {
    /// A transport-level D-Bus failure (not from the daemon's logic).
    #[zbus(error)]
    ZBus(zbus::Error),
    /// The box has no signed-in account; start a device login first.
    NotLoggedIn(String),
    /// The headend cannot be reached and nothing is cached for this request.
    Offline(String),
    /// The title is not licensed in the box's region.
    RegionBlocked(String),
    /// The account is not entitled to the title.
    NotEntitled(String),
    /// The title (or other named thing) does not exist.
    NotFound(String),
    /// An argument is out of range or malformed.
    InvalidArgument(String),
    /// The headend answered with an error the box cannot fix.
    Headend(String),
    /// The login code expired or the viewer declined it.
    LoginFailed(String),
    /// The box's local store failed (disk full, corruption).
    Storage(String),
    /// The request is valid but this box cannot do it (yet).
    NotSupported(String),
    /// The request waits for the end of the ad on screen (seeking).
    AdPlaying(String),
}

impl Error {
    /// The stable short code, e.g. `region_blocked`, as the UI maps it to a
    /// screen and as `ottboxctl --json` prints it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ZBus(_) => "dbus",
            Self::NotLoggedIn(_) => "not_logged_in",
            Self::Offline(_) => "offline",
            Self::RegionBlocked(_) => "region_blocked",
            Self::NotEntitled(_) => "not_entitled",
            Self::NotFound(_) => "not_found",
            Self::InvalidArgument(_) => "invalid_argument",
            Self::Headend(_) => "headend",
            Self::LoginFailed(_) => "login_failed",
            Self::Storage(_) => "storage",
            Self::NotSupported(_) => "not_supported",
            Self::AdPlaying(_) => "ad_playing",
        }
    }

    /// The human sentence.
    pub fn message(&self) -> String {
        match self {
            Self::ZBus(e) => e.to_string(),
            Self::NotLoggedIn(m)
            | Self::Offline(m)
            | Self::RegionBlocked(m)
            | Self::NotEntitled(m)
            | Self::NotFound(m)
            | Self::InvalidArgument(m)
            | Self::Headend(m)
            | Self::LoginFailed(m)
            | Self::Storage(m)
            | Self::NotSupported(m)
            | Self::AdPlaying(m) => m.clone(),
        }
    }
}
