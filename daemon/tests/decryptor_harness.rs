//! `ottboxdecrypt` in a `gst_check::Harness`: samples encrypted here, by an
//! encryptor written from the standard, come out as the original bytes,
//! with media caps and without protection meta; a KID the key ring lacks
//! or malformed meta stop the stream with a clear error, and PSSH boxes
//! reach the bus.

use aes::Aes128;
use aes::cipher::{BlockEncryptMut, KeyIvInit, StreamCipher};
use gst::prelude::*;
use gstreamer as gst;
use gstreamer::glib;
use gstreamer_check as gst_check;
use ottboxd::media::decryptor::{self, COMMON_SYSTEM_ID, Decryptor, ERROR_DETAILS, PSSH_MESSAGE};
use ottboxd::media::keyring::{KeyRing, Kid};

const KID: [u8; 16] = [0xa1; 16];
const KEY: [u8; 16] = *b"ottbox-test-key!";

fn harness(caps: &str, ring: &KeyRing) -> (gst_check::Harness, gst::Bus) {
    gst::init().expect("gstreamer initialises");
    decryptor::register().expect("element registers");
    let mut h = gst_check::Harness::new(decryptor::ELEMENT_NAME);
    let element = h.element().expect("harness has the element");
    element
        .downcast_ref::<Decryptor>()
        .expect("factory makes our type")
        .set_keyring(ring.clone());
    let bus = gst::Bus::new();
    element.set_bus(Some(&bus));
    h.set_src_caps_str(caps);
    (h, bus)
}

fn ring_with_key() -> KeyRing {
    let ring = KeyRing::new();
    ring.insert(Kid(KID), KEY);
    ring
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// `(clear, protected)` pairs as the 6-byte big-endian wire entries.
fn subsample_map(map: &[(u16, u32)]) -> gst::Buffer {
    let mut bytes = Vec::new();
    for (clear, protected) in map {
        bytes.extend_from_slice(&clear.to_be_bytes());
        bytes.extend_from_slice(&protected.to_be_bytes());
    }
    gst::Buffer::from_slice(bytes)
}

fn sample(data: Vec<u8>, info: gst::Structure) -> gst::Buffer {
    let mut buf = gst::Buffer::from_slice(data);
    gst::meta::ProtectionMeta::add(buf.get_mut().expect("new buffer is writable"), info);
    buf
}

fn pull_bytes(h: &mut gst_check::Harness) -> (Vec<u8>, bool) {
    let out = h.pull().expect("a buffer comes out");
    let has_meta = out.meta::<gst::meta::ProtectionMeta>().is_some();
    let bytes = out.map_readable().expect("readable").to_vec();
    (bytes, has_meta)
}

const CENC_CAPS: &str = "application/x-cenc, original-media-type=(string)video/x-h264, \
    protection-system=(string)1077efec-c0b2-4d02-ace3-3c1e52e2fb4b, stream-format=(string)avc, \
    alignment=(string)au";
const CBCS_CAPS: &str = "application/x-cbcs, original-media-type=(string)video/x-h264, \
    protection-system=(string)1077efec-c0b2-4d02-ace3-3c1e52e2fb4b, stream-format=(string)avc, \
    alignment=(string)au";

#[test]
fn cenc_samples_with_subsamples_come_out_clear() {
    let (mut h, _bus) = harness(CENC_CAPS, &ring_with_key());
    let map = [(5u16, 300u32), (40, 1000), (3, 0), (2, 17)];
    let len: usize = map.iter().map(|(c, p)| *c as usize + *p as usize).sum();
    let plain = plaintext(len);

    // Encrypt the protected ranges with one continuous CTR keystream, the
    // 8-byte IV in the upper half of the counter block.
    let iv8 = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80];
    let mut counter = [0u8; 16];
    counter[..8].copy_from_slice(&iv8);
    let mut ctr = ctr::Ctr64BE::<Aes128>::new(&KEY.into(), &counter.into());
    let mut data = plain.clone();
    let mut pos = 0;
    for (clear, protected) in map {
        pos += clear as usize;
        ctr.apply_keystream(&mut data[pos..pos + protected as usize]);
        pos += protected as usize;
    }
    assert_ne!(data, plain);

    let info = gst::Structure::builder("application/x-cenc")
        .field("encrypted", true)
        .field("kid", gst::Buffer::from_slice(KID))
        .field("iv_size", 8u32)
        .field("iv", gst::Buffer::from_slice(iv8))
        .field("cipher-mode", "cenc")
        .field("subsample_count", map.len() as u32)
        .field("subsamples", subsample_map(&map))
        .build();
    h.push(sample(data, info)).expect("accepted");
    let (out, has_meta) = pull_bytes(&mut h);
    assert_eq!(out, plain, "decrypted bytes");
    assert!(!has_meta, "protection meta removed");

    let caps = h
        .sinkpad()
        .expect("harness sink pad")
        .current_caps()
        .expect("negotiated");
    let s = caps.structure(0).expect("one structure");
    assert_eq!(s.name(), "video/x-h264", "{caps}");
    assert_eq!(s.get::<&str>("stream-format").expect("kept"), "avc");
    assert!(!s.has_field("protection-system") && !s.has_field("original-media-type"));

    // A clear sample (no meta) in the same stream passes untouched.
    h.push(gst::Buffer::from_slice(plaintext(50)))
        .expect("accepted");
    assert_eq!(pull_bytes(&mut h).0, plaintext(50));
}

#[test]
fn cbcs_pattern_with_constant_iv_and_partial_block_comes_out_clear() {
    cbcs_round_trip(CBCS_CAPS, true);
}

#[test]
fn cbcs_named_by_cipher_mode_in_cenc_caps_as_qtdemux_1_22_does() {
    // qtdemux 1.22 outputs application/x-cenc, cipher-mode=cbcs; without a
    // cipher-mode in the meta, the caps decide.
    cbcs_round_trip(
        &CENC_CAPS.replace("alignment", "cipher-mode=(string)cbcs, alignment"),
        false,
    );
}

fn cbcs_round_trip(caps: &str, cipher_mode_in_meta: bool) {
    let (mut h, _bus) = harness(caps, &ring_with_key());
    // Two NAL units: 4-byte length + 1-byte header clear; protected ranges
    // of 23.5 blocks and 2 blocks + 9 bytes.
    let map = [(5u16, 16 * 23 + 8), (5, 16 * 2 + 9)];
    let len: usize = map.iter().map(|(c, p)| *c as usize + *p as usize).sum();
    let plain = plaintext(len);
    let iv = [0x5a; 16];

    // 1:9 pattern: per protected range a fresh CBC chain from the constant
    // IV over blocks 0, 10, 20, ...; partial blocks stay clear.
    let mut data = plain.clone();
    let mut pos = 0;
    let mut encrypted_blocks = Vec::new();
    for (clear, protected) in map {
        pos += clear as usize;
        let mut cbc = cbc::Encryptor::<Aes128>::new(&KEY.into(), &iv.into());
        for b in (0..protected as usize / 16).step_by(10) {
            let off = pos + b * 16;
            let mut block: [u8; 16] = data[off..off + 16].try_into().expect("16 bytes");
            let ga = (&mut block).into();
            cbc.encrypt_block_mut(ga);
            data[off..off + 16].copy_from_slice(&block);
            encrypted_blocks.push(off);
        }
        pos += protected as usize;
    }
    assert_eq!(encrypted_blocks.len(), 3 + 1);

    let info = gst::Structure::builder("application/x-cenc")
        .field("encrypted", true)
        .field("kid", gst::Buffer::from_slice(KID))
        .field("iv_size", 0u32)
        .field("constant_iv_size", 16u32)
        .field("iv", gst::Buffer::from_slice(iv))
        .field_if("cipher-mode", "cbcs", cipher_mode_in_meta)
        .field("crypt_byte_block", 1u32)
        .field("skip_byte_block", 9u32)
        .field("subsample_count", map.len() as u32)
        .field("subsamples", subsample_map(&map))
        .build();
    h.push(sample(data, info)).expect("accepted");
    let (out, has_meta) = pull_bytes(&mut h);
    assert_eq!(out, plain, "decrypted bytes");
    assert!(!has_meta);
    let caps = h
        .sinkpad()
        .expect("harness sink pad")
        .current_caps()
        .expect("negotiated");
    let s = caps.structure(0).expect("one structure");
    assert_eq!(s.name(), "video/x-h264", "{caps}");
    assert!(!s.has_field("cipher-mode"), "{caps}");
}

fn error_on(bus: &gst::Bus) -> (glib::Error, String, gst::Structure) {
    let msg = bus
        .pop_filtered(&[gst::MessageType::Error])
        .expect("an error on the bus");
    let gst::MessageView::Error(err) = msg.view() else {
        unreachable!("filtered for errors");
    };
    let details = err.details().expect("details").to_owned();
    (
        err.error(),
        err.debug().map(|d| d.to_string()).unwrap_or_default(),
        details,
    )
}

#[test]
fn unknown_kid_is_a_clear_no_key_error() {
    let ring = KeyRing::new();
    ring.insert(Kid([0x01; 16]), KEY); // another title's key
    let (mut h, bus) = harness(CENC_CAPS, &ring);
    let info = gst::Structure::builder("application/x-cenc")
        .field("kid", gst::Buffer::from_slice(KID))
        .field("iv", gst::Buffer::from_slice([0u8; 16]))
        .field("cipher-mode", "cenc")
        .build();
    assert_eq!(
        h.push(sample(plaintext(64), info)),
        Err(gst::FlowError::Error)
    );
    let (err, _debug, details) = error_on(&bus);
    assert!(err.matches(gst::StreamError::DecryptNokey), "{err}");
    assert_eq!(
        err.message(),
        "no key for KID a1a1a1a1-a1a1-a1a1-a1a1-a1a1a1a1a1a1"
    );
    assert_eq!(details.name(), ERROR_DETAILS);
    assert_eq!(details.get::<&str>("code").expect("code"), "decrypt.no_key");
    assert_eq!(
        details.get::<&str>("kid").expect("kid"),
        "a1a1a1a1-a1a1-a1a1-a1a1-a1a1a1a1a1a1"
    );
    assert!(h.try_pull().is_none(), "nothing half-decrypted leaks out");
}

#[test]
fn malformed_meta_is_a_clear_decrypt_error() {
    let (mut h, bus) = harness(CENC_CAPS, &ring_with_key());
    // The map announces 400 bytes for a 64-byte sample.
    let info = gst::Structure::builder("application/x-cenc")
        .field("kid", gst::Buffer::from_slice(KID))
        .field("iv", gst::Buffer::from_slice([0u8; 8]))
        .field("subsample_count", 1u32)
        .field("subsamples", subsample_map(&[(0, 400)]))
        .build();
    assert_eq!(
        h.push(sample(plaintext(64), info)),
        Err(gst::FlowError::Error)
    );
    let (err, debug, details) = error_on(&bus);
    assert!(err.matches(gst::StreamError::Decrypt), "{err}");
    assert!(
        err.message()
            .contains("subsamples cover 400 bytes but the sample has 64"),
        "{err}"
    );
    assert!(debug.contains("cenc.subsamples_mismatch"), "{debug}");
    assert_eq!(
        details.get::<&str>("code").expect("code"),
        "cenc.subsamples_mismatch"
    );

    // No IV at all.
    let info = gst::Structure::builder("application/x-cenc")
        .field("kid", gst::Buffer::from_slice(KID))
        .build();
    assert_eq!(
        h.push(sample(plaintext(64), info)),
        Err(gst::FlowError::Error)
    );
    let (_, _, details) = error_on(&bus);
    assert_eq!(
        details.get::<&str>("code").expect("code"),
        "decrypt.bad_meta"
    );
}

#[test]
fn protection_events_are_posted_for_the_license_client() {
    let (mut h, bus) = harness(CENC_CAPS, &ring_with_key());
    let pssh = gst::Buffer::from_slice(*b"\0\0\0\x20psshfake-box-for-the-test");
    assert!(
        h.push_event(
            gst::event::Protection::builder(COMMON_SYSTEM_ID, &pssh)
                .origin("isobmff/pssh")
                .build()
        )
    );
    let msg = bus
        .pop_filtered(&[gst::MessageType::Element])
        .expect("element message");
    let s = msg.structure().expect("structure");
    assert_eq!(s.name(), PSSH_MESSAGE);
    assert_eq!(
        s.get::<&str>("system-id").expect("system-id"),
        COMMON_SYSTEM_ID
    );
    assert_eq!(s.get::<&str>("origin").expect("origin"), "isobmff/pssh");
    let data = s.get::<gst::Buffer>("data").expect("data");
    assert_eq!(
        data.map_readable().expect("readable").as_slice(),
        pssh.map_readable().expect("readable").as_slice()
    );
}

#[test]
fn the_factory_is_a_decryptor_for_both_systems() {
    gst::init().expect("gstreamer initialises");
    decryptor::register().expect("element registers");
    // What qtdemux (gst_protection_select_system) looks at: the klass and
    // the protection-system values of the sink template.
    let factory = gst::ElementFactory::find(decryptor::ELEMENT_NAME).expect("registered");
    assert_eq!(factory.klass(), "Decryptor");
    assert!(factory.rank() >= gst::Rank::PRIMARY);
    let sink = factory
        .static_pad_templates()
        .into_iter()
        .find(|t| t.direction() == gst::PadDirection::Sink)
        .expect("a sink template")
        .caps();
    for media in ["application/x-cenc", "application/x-cbcs"] {
        for system in [COMMON_SYSTEM_ID, decryptor::CLEARKEY_SYSTEM_ID] {
            // A plain string field: qtdemux's check ignores lists.
            assert!(
                sink.iter()
                    .any(|s| s.name() == media && s.get::<&str>("protection-system") == Ok(system)),
                "{media} {system} in {sink}"
            );
        }
        let widevine = gst::Caps::builder(media)
            .field("protection-system", "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed")
            .build();
        assert!(!sink.can_intersect(&widevine), "Widevine is not ours");
    }
}

#[test]
fn key_ring_can_be_filled_after_the_element_is_made() {
    let ring = KeyRing::new();
    let (mut h, _bus) = harness(CENC_CAPS, &ring);
    ring.insert(Kid(KID), KEY); // the license arrived late
    let plain = plaintext(100);
    let mut data = plain.clone();
    ctr::Ctr64BE::<Aes128>::new(&KEY.into(), &[3u8; 16].into()).apply_keystream(&mut data);
    let info = gst::Structure::builder("application/x-cenc")
        .field("kid", gst::Buffer::from_slice(KID))
        .field("iv", gst::Buffer::from_slice([3u8; 16]))
        .build();
    h.push(sample(data, info)).expect("accepted");
    assert_eq!(pull_bytes(&mut h).0, plain);
}
