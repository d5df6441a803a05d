//! `io.ottbox.Session1`: signing the box in with a device code (RFC 8628).
//!
//! `StartLogin` returns the code to show on the TV; the daemon then polls
//! the headend by itself and flips `State` to `logged_in` when the viewer
//! has confirmed on a phone (a `PropertiesChanged` signal says so).

use serde::{Deserialize, Serialize};
use zbus::{Type, proxy};

use super::Error;

/// What the TV shows while the viewer confirms on a phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct LoginCode {
    /// The short code to type, e.g. `BCDF-GHJK`.
    pub user_code: String,
    /// Where to type it.
    pub verification_uri: String,
    /// What a QR code on screen should hold (the URL with the code filled in).
    pub qr_payload: String,
    /// Seconds until the code expires.
    pub expires_in: u32,
}

super::closed_set::closed_set! {
    /// The values of `Session1.State`.
    pub enum LoginState {
        /// No account; `StartLogin` to begin.
        LoggedOut = "logged_out",
        /// A code is shown and being polled.
        Pending = "pending",
        /// Signed in.
        LoggedIn = "logged_in",
    }
}

/// Device login and logout.
#[proxy(
    interface = "io.ottbox.Session1",
    default_service = "io.ottbox.Daemon",
    default_path = "/io/ottbox/Session"
)]
pub trait Session1 {
    /// Asks the headend for a device code and starts polling for it.
    /// Calling it again while pending returns a fresh code.
    fn start_login(&self) -> Result<LoginCode, Error>;

    /// Stops a pending login.
    fn cancel_login(&self) -> Result<(), Error>;

    /// Revokes the session on the headend (when reachable) and wipes the
    /// tokens and the viewer's cached data from the box.
    fn logout(&self) -> Result<(), Error>;

    /// `logged_out`, `pending` or `logged_in`.
    #[zbus(property)]
    fn state(&self) -> zbus::Result<LoginState>;

    /// The code being shown while pending, else empty.
    #[zbus(property)]
    fn user_code(&self) -> zbus::Result<String>;

    /// Why the last login ended without an account (`expired_token`,
    /// `access_denied`, ...: a code and a sentence), else empty.
    #[zbus(property)]
    fn last_error(&self) -> zbus::Result<String>;
}
