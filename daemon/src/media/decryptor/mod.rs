//! `ottboxdecrypt`: a GStreamer element (klass "Decryptor") that decrypts
//! Common Encryption (`cenc`, `cbcs`) samples in place.
//!
//! ## Where it sits
//!
//! ```text
//! appsrc ! qtdemux ! ottboxdecrypt ! h264parse ! <decoder> ! <sink>
//! ```
//!
//! When `qtdemux` meets a protected track it looks, through
//! `gst_protection_select_system`, for a registered element of klass
//! "Decryptor" whose sink caps name one of the track's protection systems
//! (from its PSSH boxes) in `protection-system`. This element accepts the
//! Common PSSH system ([`COMMON_SYSTEM_ID`]) and W3C ClearKey
//! ([`CLEARKEY_SYSTEM_ID`]); the check only reads plain-string
//! `protection-system` fields, so the sink template has one structure per
//! system. The demuxer then outputs caps such as `application/x-cenc,
//! original-media-type=video/x-h264, cipher-mode=cbcs, ...` (1.22 says
//! `cbcs` with `cipher-mode`; `application/x-cbcs` is accepted too) and attaches
//! a `GstProtectionMeta` to every encrypted sample (KID, IV, subsample map,
//! pattern). The element turns the caps back into the original media type,
//! decrypts each sample in place with [`ottbox_formats::cenc`], and drops the
//! meta.
//!
//! ## Keys
//!
//! Keys come from a [`KeyRing`] that the license client fills. Give the
//! element its key ring from Rust, in-process, before the first sample:
//!
//! ```no_run
//! use gstreamer as gst;
//! use gst::prelude::*;
//! use ottboxd::media::decryptor::{self, Decryptor};
//! use ottboxd::media::keyring::KeyRing;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! gst::init()?;
//! decryptor::register()?;
//! let ring = KeyRing::new(); // shared with the license client
//! let element = gst::ElementFactory::make(decryptor::ELEMENT_NAME).build()?;
//! element.downcast_ref::<Decryptor>().ok_or("not ours")?.set_keyring(ring.clone());
//! # Ok(()) }
//! ```
//!
//! When `qtdemux` creates the element itself (inside `decodebin`), catch
//! it with `deep-element-added` and set the key ring there.
//!
//! ## Errors and messages
//!
//! A sample that cannot be decrypted stops the stream with an element
//! error on the bus: `gst::StreamError::DecryptNokey` when the KID is not
//! in the key ring, `gst::StreamError::Decrypt` for malformed side
//! information. The error's details structure, named [`ERROR_DETAILS`],
//! carries a stable `code` (see [`DecryptError::code`]) and, when known,
//! the `kid` as a UUID string. Keys are never logged.
//!
//! Every `protection` event (a PSSH box, from the init segment or a
//! manifest) is posted as an element message named [`PSSH_MESSAGE`] with
//! `system-id` (string), `data` (`gst::Buffer`, the whole PSSH box) and
//! `origin` (string: `isobmff/pssh`, `dash/mpd`, ...), so the daemon's
//! license client can see which keys the content wants.

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer::subclass::prelude::*;

use crate::media::keyring::{KeyRing, Kid};
use ottbox_formats::cenc::CencError;

mod imp;
mod sample_info;

pub use sample_info::SampleInfo;

/// The element's factory name.
pub const ELEMENT_NAME: &str = "ottboxdecrypt";
/// The Common PSSH system id (ISO/IEC 23001-7 §8.1, "CommonSystem").
pub const COMMON_SYSTEM_ID: &str = "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b";
/// The W3C ClearKey system id.
pub const CLEARKEY_SYSTEM_ID: &str = "e2719d58-a985-b3c9-781a-b030af78d30e";
/// Name of the element message posted for each `protection` event.
pub const PSSH_MESSAGE: &str = "ottbox-pssh";
/// Name of the details structure of the element errors this element posts.
pub const ERROR_DETAILS: &str = "ottbox-decrypt-error";

glib::wrapper! {
    /// The `ottboxdecrypt` element. See the [module docs](self).
    pub struct Decryptor(ObjectSubclass<imp::Decryptor>)
        @extends gstreamer_base::BaseTransform, gst::Element, gst::Object;
}

impl Decryptor {
    /// Gives the element the key ring to look KIDs up in. Takes effect for
    /// the next sample; may be called in any state. The ring is shared, so
    /// keys inserted later are seen too.
    pub fn set_keyring(&self, keyring: KeyRing) {
        self.imp().set_keyring(keyring);
    }
}

/// Registers `ottboxdecrypt` with GStreamer for this process, at rank
/// primary (so `qtdemux` and `decodebin` choose it). Needs `gst::init()`
/// first; calling it again is harmless.
pub fn register() -> Result<(), glib::BoolError> {
    gst::Element::register(
        None,
        ELEMENT_NAME,
        gst::Rank::PRIMARY,
        Decryptor::static_type(),
    )
}

/// Why a sample was not decrypted. Posted on the bus as an element error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptError {
    /// The key ring has no key for the sample's KID.
    #[error("no key for KID {kid}")]
    NoKey {
        /// The KID asked for.
        kid: Kid,
    },
    /// No key ring was set on the element.
    #[error("no key ring set on {ELEMENT_NAME}, so no key for KID {kid}")]
    NoKeyRing {
        /// The KID asked for.
        kid: Kid,
    },
    /// The protection meta lacks a field or has a wrong one.
    #[error("bad protection meta: {0}")]
    BadMeta(String),
    /// The side information does not fit the sample.
    #[error("cannot decrypt sample with KID {kid}: {source}")]
    Cenc {
        /// The KID of the sample.
        kid: Kid,
        /// What was wrong.
        source: CencError,
    },
}

impl DecryptError {
    /// Stable machine-readable code: `decrypt.no_key`,
    /// `decrypt.no_keyring`, `decrypt.bad_meta`, or the `cenc.*` code of
    /// the underlying [`CencError`].
    pub fn code(&self) -> &'static str {
        match self {
            DecryptError::NoKey { .. } => "decrypt.no_key",
            DecryptError::NoKeyRing { .. } => "decrypt.no_keyring",
            DecryptError::BadMeta(_) => "decrypt.bad_meta",
            DecryptError::Cenc { source, .. } => source.code(),
        }
    }

    /// The KID concerned, if known.
    pub fn kid(&self) -> Option<Kid> {
        match self {
            DecryptError::NoKey { kid }
            | DecryptError::NoKeyRing { kid }
            | DecryptError::Cenc { kid, .. } => Some(*kid),
            DecryptError::BadMeta(_) => None,
        }
    }
}
