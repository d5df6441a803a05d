//! The viewer's account on this box: device login (RFC 8628), tokens kept
//! fresh, logout.
//!
//! [`Account::start_login`] asks the headend for a device code and spawns a
//! poller that follows the RFC: wait `interval` between polls, add 5 s on
//! `slow_down`, stop on `expired_token` or `access_denied`. On success the
//! tokens go to sled (flushed at once) and [`Account::state`] flips to
//! logged in; a refresher then renews the access token before it expires.
//! Every change of [`LoginStatus`] is published on a watch channel, which
//! the D-Bus layer turns into `PropertiesChanged` signals.

pub mod device;
pub mod tokens;

use std::sync::Arc;
use std::time::Duration;

use ottbox_protocol::ErrorCode;
use ottbox_protocol::dbus::{LoginCode, LoginState};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use crate::net::{Headend, HeadendError};
use crate::store::{Store, StoreError, now_s};
pub use tokens::Tokens;

const TOKENS_KEY: &str = "current";

/// What the login screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginStatus {
    /// Logged out, pending or logged in.
    pub state: LoginState,
    /// The code on screen while pending.
    pub user_code: String,
    /// Why the last attempt failed (`code: sentence`), else empty.
    pub last_error: String,
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// No tokens: the box must be signed in first.
    #[error("not_logged_in: sign in on this box first")]
    NotLoggedIn,
    /// The headend failed or refused.
    #[error(transparent)]
    Headend(#[from] HeadendError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The account; one per daemon, shared by the interfaces.
pub struct Account {
    store: Store,
    headend: Headend,
    /// Enroll a device certificate after login, with this serial (empty:
    /// the box's own); `None` when `headend.enroll` is off.
    enroll_as: Option<String>,
    status: watch::Sender<LoginStatus>,
    /// Serialises refreshes: a refresh token is single-use, so two racing
    /// refreshes would revoke the session (reuse detection).
    refresh_lock: Mutex<()>,
    poller: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("status", &*self.status.borrow())
            .finish_non_exhaustive()
    }
}

impl Account {
    /// Loads the account from the store: logged in if tokens are there.
    pub fn new(store: Store, headend: Headend, enroll_as: Option<String>) -> Arc<Self> {
        if let Some(identity) = device::load(&store)
            && let Err(e) = headend.set_identity(Some(&identity.pem()))
        {
            tracing::warn!(error = %e, "the device certificate cannot be used");
        }
        let state = if store.get::<Tokens>(&store.tokens, TOKENS_KEY).is_some() {
            LoginState::LoggedIn
        } else {
            LoginState::LoggedOut
        };
        let (status, _) = watch::channel(LoginStatus {
            state,
            user_code: String::new(),
            last_error: String::new(),
        });
        Arc::new(Self {
            store,
            headend,
            enroll_as,
            status,
            refresh_lock: Mutex::new(()),
            poller: std::sync::Mutex::new(None),
        })
    }

    /// The current login status.
    pub fn status(&self) -> LoginStatus {
        self.status.borrow().clone()
    }

    /// Changes of the login status.
    pub fn subscribe(&self) -> watch::Receiver<LoginStatus> {
        self.status.subscribe()
    }

    /// Starts a device login; returns what to show. Replaces a pending one.
    pub async fn start_login(self: &Arc<Self>) -> Result<LoginCode, AccountError> {
        let auth = self.headend.device_code().await?;
        let code = LoginCode {
            user_code: auth.user_code.clone(),
            verification_uri: auth.verification_uri.clone(),
            qr_payload: auth.verification_uri_complete.clone(),
            expires_in: u32::try_from(auth.expires_in).unwrap_or(u32::MAX),
        };
        self.set_status(LoginState::Pending, &auth.user_code, "");
        let me = Arc::clone(self);
        let task = tokio::spawn(async move {
            me.poll(auth.device_code, auth.interval, auth.expires_in)
                .await
        });
        if let Some(old) = self.poller_slot().replace(task) {
            old.abort();
        }
        Ok(code)
    }

    /// Stops a pending login.
    pub fn cancel_login(&self) {
        if let Some(task) = self.poller_slot().take() {
            task.abort();
        }
        if self.status().state == LoginState::Pending {
            self.set_status(LoginState::LoggedOut, "", "");
        }
    }

    fn poller_slot(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        // A panic elsewhere while holding this lock leaves only a task handle.
        self.poller
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The RFC 8628 polling loop.
    async fn poll(self: Arc<Self>, device_code: String, interval_s: u64, expires_in: u64) {
        let mut interval = Duration::from_secs(interval_s.max(1));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(expires_in);
        let fail = |code: &str, sentence: &str| {
            self.set_status(LoginState::LoggedOut, "", &format!("{code}: {sentence}"));
        };
        loop {
            tokio::time::sleep(interval).await;
            match self.headend.poll_token(&device_code).await {
                Ok(resp) => {
                    let tokens = Tokens::from_response(&resp, now_s());
                    if let Err(e) = self.save(&tokens) {
                        fail("storage", &e.to_string());
                        return;
                    }
                    tracing::info!("device login complete");
                    // Before the viewer sees home: the first Play may need it.
                    self.enroll_device(&tokens.access).await;
                    self.set_status(LoginState::LoggedIn, "", "");
                    return;
                }
                Err(e) => match e.code() {
                    Some(ErrorCode::AuthorizationPending) => {}
                    Some(ErrorCode::SlowDown) => interval += Duration::from_secs(5),
                    Some(ErrorCode::ExpiredToken) => {
                        return fail("expired_token", "the code expired; start again");
                    }
                    Some(ErrorCode::AccessDenied) => {
                        return fail("access_denied", "the viewer declined the sign-in");
                    }
                    // Unreachable or a server hiccup: keep trying until the code expires.
                    _ if tokio::time::Instant::now() < deadline => {
                        tracing::warn!(error = %e, "login poll failed; retrying");
                    }
                    _ => return fail("expired_token", "the code expired; start again"),
                },
            }
        }
    }

    /// Enrolls the box's device certificate unless it has one (or
    /// enrollment is off). A failure is logged, not fatal: headends that
    /// do not require a device certificate play without one, and the next
    /// start tries again.
    async fn enroll_device(&self, access: &str) {
        let Some(configured) = &self.enroll_as else {
            return;
        };
        if device::load(&self.store).is_some() {
            return;
        }
        let result = match device::serial(&self.store, configured) {
            Ok(serial) => device::enroll(&self.store, &self.headend, access, &serial)
                .await
                .map(drop),
            Err(e) => Err(e.into()),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "device not enrolled; calls go without a certificate");
        }
    }

    fn forget_device(&self) {
        if let Err(e) = self.headend.set_identity(None) {
            tracing::warn!(error = %e, "the client without a certificate");
        }
    }

    fn set_status(&self, state: LoginState, user_code: &str, last_error: &str) {
        self.status.send_replace(LoginStatus {
            state,
            user_code: user_code.to_owned(),
            last_error: last_error.to_owned(),
        });
    }

    fn save(&self, tokens: &Tokens) -> Result<(), StoreError> {
        self.store.put(&self.store.tokens, TOKENS_KEY, tokens)?;
        // Tokens are worth a sync: losing them means logging in again.
        self.store.flush()
    }

    fn tokens(&self) -> Option<Tokens> {
        self.store.get(&self.store.tokens, TOKENS_KEY)
    }

    /// A valid access token, refreshed first if it is about to expire.
    /// Offline, the current token is returned as it is (the caller's request
    /// will fail as unreachable anyway, and cached data needs none).
    pub async fn access_token(&self) -> Result<String, AccountError> {
        let tokens = self.tokens().ok_or(AccountError::NotLoggedIn)?;
        if now_s() < tokens.refresh_at() {
            return Ok(tokens.access);
        }
        match self.refresh().await {
            Ok(t) => Ok(t.access),
            Err(AccountError::Headend(e)) if e.is_unreachable() => Ok(tokens.access),
            Err(e) => Err(e),
        }
    }

    /// Refreshes the tokens now. A refused refresh (revoked, reused) logs
    /// the box out.
    pub async fn refresh(&self) -> Result<Tokens, AccountError> {
        let _one_at_a_time = self.refresh_lock.lock().await;
        let current = self.tokens().ok_or(AccountError::NotLoggedIn)?;
        // Someone refreshed while we waited for the lock.
        if now_s() < current.refresh_at() {
            return Ok(current);
        }
        match self.headend.refresh(&current.refresh).await {
            Ok(resp) => {
                let fresh = Tokens::from_response(&resp, now_s());
                self.save(&fresh)?;
                tracing::info!(expires_at = fresh.expires_at, "tokens refreshed");
                Ok(fresh)
            }
            Err(e @ HeadendError::Refused { .. }) if e.code() != Some(ErrorCode::ServerError) => {
                tracing::warn!(error = %e, "refresh refused; signing out");
                self.store.wipe_account()?;
                self.forget_device();
                self.set_status(LoginState::LoggedOut, "", &format!("session_ended: {e}"));
                Err(AccountError::NotLoggedIn)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Keeps the tokens fresh until the daemon stops: sleeps until the
    /// refresh time, refreshes, repeats; retries with a delay when offline.
    pub async fn run_refresher(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut status = self.subscribe();
        // Signed in before, but not enrolled then (offline, an older
        // headend): try again now.
        if let Ok(access) = self.access_token().await {
            self.enroll_device(&access).await;
        }
        loop {
            let wait = match self.tokens() {
                Some(t) => Duration::from_secs((t.refresh_at() - now_s()).max(0) as u64),
                None => Duration::from_secs(3600),
            };
            tokio::select! {
                _ = shutdown.changed() => return,
                // A login or logout changes the schedule.
                _ = status.changed() => continue,
                () = tokio::time::sleep(wait) => {}
            }
            if self.tokens().is_some()
                && let Err(e) = self.refresh().await
            {
                tracing::warn!(error = %e, "token refresh failed; retrying in 10 s");
                tokio::select! {
                    _ = shutdown.changed() => return,
                    () = tokio::time::sleep(Duration::from_secs(10)) => {}
                }
            }
        }
    }

    /// Revokes the session on the headend (best effort: offline, the local
    /// wipe still happens) and wipes the viewer's data from the box.
    pub async fn logout(&self) -> Result<(), AccountError> {
        self.cancel_login();
        if let Some(tokens) = self.tokens()
            && let Err(e) = self.headend.logout(&tokens.access).await
        {
            tracing::warn!(error = %e, "logout not confirmed by the headend");
        }
        self.store.wipe_account()?;
        self.forget_device();
        self.set_status(LoginState::LoggedOut, "", "");
        Ok(())
    }
}
