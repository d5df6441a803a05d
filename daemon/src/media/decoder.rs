//! Choosing a decoder: the box's hardware first, software as the fallback.
//!
//! A set-top box decodes on its video engine: V4L2 (stateful on most
//! SoCs, stateless on Rockchip/Allwinner-style ones), VA or VA-API on x86
//! boxes. GStreamer's own ranks do not always say so (v4l2 decoders are
//! often registered at rank `NONE` and never autoplugged), so the choice is
//! ours: among the decoder factories that accept the stream's caps,
//! hardware ones come first, then the rest by rank. The element chosen is
//! reported on D-Bus (`Player1.Decoder`) so that a box silently decoding
//! 4K in software shows up in diagnostics.

use gstreamer as gst;
use gstreamer::prelude::*;

/// Factory name prefixes of hardware decoders.
const HARDWARE_PREFIXES: [&str; 4] = ["v4l2", "vaapi", "va", "nv"];

/// True when `factory` drives a hardware decoder.
pub fn is_hardware(factory: &gst::ElementFactory) -> bool {
    let name = factory.name();
    let klass = factory.metadata(gst::ELEMENT_METADATA_KLASS).unwrap_or("");
    klass.contains("Hardware") || HARDWARE_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// False for the auto-plugging bins (decodebin, parsebin, ...): their
/// class says "Decoder" and their sink takes ANY caps, so they would
/// "accept" a stream nobody can decode and nest a second decoder choice
/// inside ours.
fn decodes_specific_caps(factory: &gst::ElementFactory) -> bool {
    factory
        .static_pad_templates()
        .iter()
        .filter(|t| t.direction() == gst::PadDirection::Sink)
        .all(|t| !t.caps().is_any())
}

/// Fields that the parser in front of the decoder converts between
/// (h264parse: `avc` and `byte-stream`, `au` and `nal`; aacparse: raw and
/// ADTS), so they must not rule a decoder out. openh264, for one, takes
/// only `byte-stream`, while MP4 carries `avc`.
const CONVERTED_BY_PARSER: [&str; 3] = ["stream-format", "alignment", "codec_data"];

/// What a decoder behind the stream's parser must accept: the demuxer's
/// caps without the fields the parser converts.
pub fn after_parser(caps: &gst::Caps) -> gst::Caps {
    let mut caps = caps.clone();
    for s in caps.make_mut().iter_mut() {
        for field in CONVERTED_BY_PARSER {
            s.remove_field(field);
        }
    }
    caps
}

/// The decoder factories that take `caps`, best first.
pub fn candidates(caps: &gst::Caps) -> Vec<gst::ElementFactory> {
    let mut list: Vec<gst::ElementFactory> =
        gst::ElementFactory::factories_with_type(gst::ElementFactoryType::DECODER, gst::Rank::NONE)
            .into_iter()
            .filter(|f| decodes_specific_caps(f) && f.can_sink_any_caps(caps))
            .collect();
    list.sort_by_key(|f| (!is_hardware(f), std::cmp::Reverse(f.rank())));
    list
}

/// Makes the best decoder for `caps` that can be instantiated, or `None`
/// when GStreamer has none (a missing plugin).
pub fn make(caps: &gst::Caps) -> Option<gst::Element> {
    candidates(caps)
        .into_iter()
        .find_map(|f| f.create().build().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_has_a_decoder_and_hardware_would_come_first() {
        gst::init().expect("gstreamer");
        let caps = gst::Caps::builder("video/x-h264")
            .field("stream-format", "avc")
            .field("alignment", "au")
            .build();
        let list = candidates(&caps);
        assert!(
            !list.is_empty(),
            "no H.264 decoder: install gstreamer1.0-libav"
        );
        let first_software = list.iter().position(|f| !is_hardware(f));
        let last_hardware = list.iter().rposition(is_hardware);
        if let (Some(sw), Some(hw)) = (first_software, last_hardware) {
            assert!(hw < sw, "hardware decoders sort before software ones");
        }
        assert!(make(&caps).is_some());
    }

    #[test]
    fn decoders_that_need_another_stream_format_are_found_behind_the_parser() {
        gst::init().expect("gstreamer");
        let avc = gst::Caps::builder("video/x-h264")
            .field("stream-format", "avc")
            .field("alignment", "au")
            .field("profile", "high")
            .build();
        let direct: Vec<String> = candidates(&avc)
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        let parsed: Vec<String> = candidates(&after_parser(&avc))
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        assert!(
            direct.iter().all(|d| parsed.contains(d)),
            "{direct:?} ⊄ {parsed:?}"
        );
        // openh264dec takes byte-stream only: found once the parser's
        // conversions are set aside (skipped where it is not installed).
        if gst::ElementFactory::find("openh264dec").is_some() {
            assert!(!direct.contains(&"openh264dec".to_owned()));
            assert!(parsed.contains(&"openh264dec".to_owned()), "{parsed:?}");
        }
    }

    #[test]
    fn caps_nobody_decodes_give_none() {
        gst::init().expect("gstreamer");
        assert!(make(&gst::Caps::new_empty_simple("video/x-ottbox-nonsense")).is_none());
    }
}
