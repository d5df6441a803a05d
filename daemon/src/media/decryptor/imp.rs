//! The `ottboxdecrypt` subclass of `GstBaseTransform`, working in place.

use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer::subclass::prelude::*;
use gstreamer_base as gst_base;
use gstreamer_base::subclass::prelude::*;

use super::{
    CLEARKEY_SYSTEM_ID, COMMON_SYSTEM_ID, DecryptError, ELEMENT_NAME, ERROR_DETAILS, PSSH_MESSAGE,
    SampleInfo,
};
use crate::media::keyring::KeyRing;
use ottbox_formats::cenc;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        ELEMENT_NAME,
        gst::DebugColorFlags::empty(),
        Some("ottbox Common Encryption decryptor"),
    )
});

const CAPS_CENC: &str = "application/x-cenc";
const CAPS_CBCS: &str = "application/x-cbcs";
const ORIGINAL_MEDIA_TYPE: &str = "original-media-type";
const PROTECTION_SYSTEM: &str = "protection-system";
/// 1.22's qtdemux says `cbcs` this way, in `application/x-cenc` caps.
const CIPHER_MODE: &str = "cipher-mode";

/// What the application sets.
#[derive(Debug, Default)]
struct Settings {
    keyring: Option<KeyRing>,
}

/// What lives between `start` and `stop`.
#[derive(Debug, Default)]
struct State {
    /// The negotiated sink caps are `application/x-cbcs`.
    cbcs_caps: bool,
    /// Samples decrypted so far, for the debug log.
    decrypted: u64,
}

/// The element's instance data.
#[derive(Default)]
pub struct Decryptor {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

/// Locks, ignoring poisoning: the data stays consistent (plain values).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Decryptor {
    pub(super) fn set_keyring(&self, keyring: KeyRing) {
        gst::debug!(CAT, imp = self, "key ring set: {keyring:?}");
        lock(&self.settings).keyring = Some(keyring);
    }

    /// Decrypts one sample in place according to `info`.
    fn decrypt(&self, info: &SampleInfo, data: &mut [u8]) -> Result<(), DecryptError> {
        let kid = info.kid;
        let keyring = lock(&self.settings).keyring.clone();
        let key = keyring
            .ok_or(DecryptError::NoKeyRing { kid })?
            .get(&kid)
            .ok_or(DecryptError::NoKey { kid })?;
        cenc::decrypt_sample(&key, &info.iv, info.scheme, &info.subsamples, data)
            .map_err(|source| DecryptError::Cenc { kid, source })
    }

    /// Posts `err` as an element error and returns the flow error to stop
    /// the stream with.
    fn fail(&self, err: DecryptError) -> gst::FlowError {
        let mut details = gst::Structure::builder(ERROR_DETAILS).field("code", err.code());
        if let Some(kid) = err.kid() {
            details = details.field("kid", kid.to_string());
        }
        let kind = match err {
            DecryptError::NoKey { .. } | DecryptError::NoKeyRing { .. } => {
                gst::StreamError::DecryptNokey
            }
            _ => gst::StreamError::Decrypt,
        };
        gst::element_imp_error!(
            self,
            kind,
            ("{}", err),
            ["error code {}", err.code()],
            details: details.build()
        );
        gst::FlowError::Error
    }

    /// Tells the application about a PSSH box.
    fn post_pssh(&self, event: &gst::event::Protection) {
        let (system_id, data, origin) = event.get_owned();
        gst::debug!(
            CAT,
            imp = self,
            "protection event for {system_id} from {origin:?}"
        );
        let s = gst::Structure::builder(PSSH_MESSAGE)
            .field("system-id", system_id)
            .field("data", data)
            .field("origin", origin.unwrap_or(""))
            .build();
        let msg = gst::message::Element::builder(s).src(&*self.obj()).build();
        if self.obj().post_message(msg).is_err() {
            gst::debug!(CAT, imp = self, "no bus to post the PSSH message on");
        }
    }
}

#[glib::object_subclass]
impl ObjectSubclass for Decryptor {
    const NAME: &'static str = "OttboxDecrypt";
    type Type = super::Decryptor;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for Decryptor {}

impl GstObjectImpl for Decryptor {}

impl ElementImpl for Decryptor {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "ottbox Common Encryption decryptor",
                // qtdemux only picks elements of exactly this klass.
                "Decryptor",
                "Decrypts ISO/IEC 23001-7 cenc and cbcs samples with keys from the ottbox key ring",
                "ottbox developers",
            )
        });
        Some(&META)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let sink = gst::PadTemplate::new(
                "sink",
                gst::PadDirection::Sink,
                gst::PadPresence::Always,
                &sink_template_caps(),
            )
            .expect("a static, valid sink template");
            let src = gst::PadTemplate::new(
                "src",
                gst::PadDirection::Src,
                gst::PadPresence::Always,
                &gst::Caps::new_any(),
            )
            .expect("a static, valid src template");
            vec![sink, src]
        });
        TEMPLATES.as_ref()
    }
}

/// The protection systems we decrypt for.
const SYSTEMS: [&str; 2] = [COMMON_SYSTEM_ID, CLEARKEY_SYSTEM_ID];

/// `application/x-cenc` and `application/x-cbcs` for each system, one
/// structure per system: `gst_protection_select_system` (1.22) only reads
/// `protection-system` when it is a plain string, not a list.
fn sink_template_caps() -> gst::Caps {
    let mut caps = gst::Caps::new_empty();
    let caps_mut = caps.make_mut();
    for name in [CAPS_CENC, CAPS_CBCS] {
        for system in SYSTEMS {
            caps_mut.append_structure(
                gst::Structure::builder(name)
                    .field(PROTECTION_SYSTEM, system)
                    .build(),
            );
        }
    }
    caps
}

/// Encrypted caps → the media inside: `application/x-cenc,
/// original-media-type=video/x-h264, protection-system=…, cipher-mode=cenc,
/// stream-format=avc`
/// becomes `video/x-h264, stream-format=avc`. A structure that does not say
/// what it carries (our own template, in caps queries before the demuxer
/// has spoken) could be anything: ANY.
fn decrypted_caps(caps: &gst::CapsRef) -> gst::Caps {
    let mut out = gst::Caps::new_empty();
    let out_mut = out.make_mut();
    for s in caps.iter() {
        let Ok(original) = s.get::<&str>(ORIGINAL_MEDIA_TYPE) else {
            return gst::Caps::new_any();
        };
        let mut plain = s.to_owned();
        plain.set_name(original);
        plain.remove_fields([ORIGINAL_MEDIA_TYPE, PROTECTION_SYSTEM, CIPHER_MODE]);
        out_mut.append_structure(plain);
    }
    out
}

/// Media caps → every encrypted form of it we accept.
fn encrypted_caps(caps: &gst::CapsRef) -> gst::Caps {
    let mut out = gst::Caps::new_empty();
    let out_mut = out.make_mut();
    for s in caps.iter() {
        for name in [CAPS_CENC, CAPS_CBCS] {
            for system in SYSTEMS {
                let mut enc = s.to_owned();
                enc.set(ORIGINAL_MEDIA_TYPE, s.name().as_str());
                enc.set(PROTECTION_SYSTEM, system);
                enc.set_name(name);
                out_mut.append_structure(enc);
            }
        }
    }
    out
}

impl BaseTransformImpl for Decryptor {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = Some(State::default());
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        if let Some(state) = lock(&self.state).take() {
            gst::debug!(CAT, imp = self, "stopped after {} samples", state.decrypted);
        }
        Ok(())
    }

    fn transform_caps(
        &self,
        direction: gst::PadDirection,
        caps: &gst::Caps,
        filter: Option<&gst::Caps>,
    ) -> Option<gst::Caps> {
        let out = match (direction, caps.is_any()) {
            (gst::PadDirection::Sink, true) => gst::Caps::new_any(),
            (_, true) => sink_template_caps(),
            (gst::PadDirection::Sink, false) => decrypted_caps(caps),
            (_, false) => encrypted_caps(caps),
        };
        gst::trace!(CAT, imp = self, "{direction:?}: {caps} -> {out}");
        Some(match filter {
            Some(f) => f.intersect_with_mode(&out, gst::CapsIntersectMode::First),
            None => out,
        })
    }

    fn set_caps(&self, incaps: &gst::Caps, outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        gst::debug!(CAT, imp = self, "caps {incaps} -> {outcaps}");
        let cbcs = incaps
            .structure(0)
            .is_some_and(|s| s.name() == CAPS_CBCS || s.get::<&str>(CIPHER_MODE) == Ok("cbcs"));
        if let Some(state) = lock(&self.state).as_mut() {
            state.cbcs_caps = cbcs;
        }
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::Protection(p) = event.view() {
            self.post_pssh(p);
        }
        self.parent_sink_event(event)
    }

    fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let Some(meta) = buf.meta::<gst::meta::ProtectionMeta>() else {
            // A clear sample (clear lead, unprotected track).
            return Ok(gst::FlowSuccess::Ok);
        };
        let cbcs_caps = lock(&self.state).as_ref().is_some_and(|s| s.cbcs_caps);
        let info = SampleInfo::from_structure(meta.info(), cbcs_caps).map_err(|e| self.fail(e))?;
        if let Some(info) = info {
            gst::trace!(CAT, imp = self, "sample of {} bytes: {info:?}", buf.size());
            let mut map = buf.map_writable().map_err(|_| {
                self.fail(DecryptError::BadMeta(
                    "sample buffer is not writable".into(),
                ))
            })?;
            self.decrypt(&info, map.as_mut_slice())
                .map_err(|e| self.fail(e))?;
            drop(map);
            if let Some(state) = lock(&self.state).as_mut() {
                state.decrypted += 1;
            }
        }
        // Downstream must not mistake the sample for still encrypted.
        if let Some(meta) = buf.meta_mut::<gst::meta::ProtectionMeta>()
            && meta.remove().is_err()
        {
            gst::warning!(CAT, imp = self, "could not remove the protection meta");
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
