//! Hand-written manifests for what Shaka Packager does not emit: `$Time$`
//! timelines, byte ranges, `SegmentBase` with a `sidx`, several periods,
//! discontinuities, key rotation; plus the limits and error codes.
//! (`daemon/tests/manifest_ingest.rs` reads real packager output.)

use base64::Engine;

use super::*;

fn url(s: &str) -> Url {
    Url::parse(s).expect("test URL")
}

fn parse(u: &str, text: &str) -> Result<Presentation, ManifestError> {
    Presentation::parse(&url(u), text.as_bytes(), &Limits::default())
}

fn ready(r: &Rendition) -> &[Segment] {
    r.segments.ready().expect("segments listed")
}

fn total(segments: &[Segment]) -> f64 {
    segments.iter().map(|s| s.duration).sum()
}

const MULTIVARIANT: &str = r#"#EXTM3U
#EXT-X-VERSION:6
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",DEFAULT=YES,URI="audio/en.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Français",LANGUAGE="fr",URI="audio/fr.m3u8"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Deutsch",LANGUAGE="de",URI="https://subs.example/de.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=1500000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",FRAME-RATE=29.970,AUDIO="aud",SUBTITLES="subs"
hd/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=416x234,CODECS="avc1.42c00d,mp4a.40.2",AUDIO="aud"
/abs/sd.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI="iframes.m3u8"
"#;

#[test]
fn multivariant_lists_variants_and_alternatives() {
    let p = parse("https://cdn.example/t/1/master.m3u8", MULTIVARIANT).expect("parses");
    assert_eq!(p.source, Source::Hls);
    let tracks = &p.periods[0].tracks;
    let video = &tracks[0];
    assert_eq!(video.kind, TrackKind::Video);
    assert_eq!(
        video.renditions.len(),
        2,
        "the I-frame playlist is not a variant"
    );
    let hd = &video.renditions[0];
    assert_eq!(
        (hd.bandwidth, hd.width, hd.height),
        (1_500_000, Some(1280), Some(720))
    );
    assert_eq!(hd.codecs.as_deref(), Some("avc1.64001f,mp4a.40.2"));
    assert!((hd.frame_rate.expect("frame rate") - 29.97).abs() < 1e-9);
    assert_eq!(hd.audio_group.as_deref(), Some("aud"));
    assert_eq!(
        hd.segments,
        Segments::Playlist(url("https://cdn.example/t/1/hd/index.m3u8"))
    );
    assert_eq!(
        video.renditions[1].segments,
        Segments::Playlist(url("https://cdn.example/abs/sd.m3u8"))
    );
    let langs: Vec<_> = tracks[1..]
        .iter()
        .map(|t| (t.kind, t.language.as_deref(), t.name.as_deref()))
        .collect();
    assert_eq!(
        langs,
        vec![
            (TrackKind::Audio, Some("en"), Some("English")),
            (TrackKind::Audio, Some("fr"), Some("Français")),
            (TrackKind::Subtitles, Some("de"), Some("Deutsch")),
        ]
    );
    let pending: Vec<_> = p.pending().into_iter().map(|f| f.url.to_string()).collect();
    assert_eq!(pending.len(), 5);
    assert!(pending.contains(&"https://subs.example/de.m3u8".to_owned()));
}

const MEDIA: &str = r#"#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:100
#EXT-X-MAP:URI="main.mp4",BYTERANGE="720@0"
#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example/k1",IV=0x000102030405060708090a0b0c0d0e0f
#EXTINF:4.0,
#EXT-X-BYTERANGE:1000@720
main.mp4
#EXTINF:4.0,
#EXT-X-BYTERANGE:2000
main.mp4
#EXT-X-KEY:METHOD=AES-128,URI="k2"
#EXTINF:3.5,
#EXT-X-BYTERANGE:500
main.mp4
#EXT-X-DISCONTINUITY
#EXT-X-KEY:METHOD=NONE
#EXT-X-MAP:URI="ad/init.mp4"
#EXTINF:2.0,
ad/1.m4s
#EXT-X-ENDLIST
"#;

#[test]
fn media_playlist_carries_maps_ranges_keys_and_discontinuities() {
    let u = url("https://cdn.example/t/v/index.m3u8");
    let media = hls::parse_media(&u, MEDIA.as_bytes(), &Limits::default()).expect("parses");
    assert!(media.ended);
    let s = &media.segments;
    assert_eq!(s.len(), 4);
    assert_eq!(
        s.iter().map(|s| s.number).collect::<Vec<_>>(),
        vec![100, 101, 102, 103]
    );
    assert_eq!(
        s.iter().map(|s| s.start).collect::<Vec<_>>(),
        vec![0.0, 4.0, 8.0, 11.5]
    );
    // Implicit offsets continue where the previous range ended.
    let ranges: Vec<_> = s
        .iter()
        .map(|s| s.range.map(|r| (r.offset, r.length)))
        .collect();
    assert_eq!(
        ranges,
        vec![
            Some((720, 1000)),
            Some((1720, 2000)),
            Some((3720, 500)),
            None
        ]
    );
    assert_eq!(s[0].range.expect("range").http_header(), "bytes=720-1719");
    // EXT-X-MAP applies until the next one.
    let init = s[2].init.as_ref().expect("init");
    assert_eq!(init.url.as_str(), "https://cdn.example/t/v/main.mp4");
    assert_eq!(
        init.range,
        Some(ByteRange {
            offset: 0,
            length: 720
        })
    );
    assert_eq!(
        s[3].init.as_ref().expect("init").url.as_str(),
        "https://cdn.example/t/v/ad/init.mp4"
    );
    // EXT-X-KEY applies until the next one; METHOD=NONE ends encryption.
    let k1 = s[1]
        .protection
        .as_ref()
        .expect("key carried to the 2nd segment");
    assert_eq!(k1.scheme, Scheme::Aes128);
    assert_eq!(
        k1.key_uri.as_ref().map(Url::as_str),
        Some("https://keys.example/k1")
    );
    assert_eq!(
        s[1].aes128_iv(),
        Some(*b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f")
    );
    let k2 = s[2].protection.as_ref().expect("second key");
    assert_eq!(
        k2.key_uri.as_ref().map(Url::as_str),
        Some("https://cdn.example/t/v/k2")
    );
    // No IV: the media sequence number, big-endian.
    let mut iv = [0u8; 16];
    iv[15] = 102;
    assert_eq!(s[2].aes128_iv(), Some(iv));
    assert!(s[3].protection.is_none(), "METHOD=NONE");
    assert_eq!(
        s.iter().map(|s| s.discontinuity).collect::<Vec<_>>(),
        vec![false, false, false, true]
    );
}

#[test]
fn supplying_playlists_fills_every_rendition_that_uses_them() {
    let mut p = parse("https://cdn.example/t/1/master.m3u8", MULTIVARIANT).expect("parses");
    let body =
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n#EXTINF:1.5,\nb.ts\n#EXT-X-ENDLIST\n";
    for f in p.pending() {
        assert_eq!(f.kind, FetchKind::MediaPlaylist);
        assert_eq!(p.supply(&f, body.as_bytes()).expect("supplied"), 1);
    }
    assert!(p.pending().is_empty());
    assert_eq!(p.duration, Some(3.5));
    assert!(!p.live);
    let sd = &p.periods[0].tracks[0].renditions[1];
    assert_eq!(ready(sd)[1].url.as_str(), "https://cdn.example/abs/b.ts");
    // Supplying twice, or something nobody asked for, is an error.
    let stray = Fetch {
        kind: FetchKind::MediaPlaylist,
        url: url("https://cdn.example/other.m3u8"),
        range: None,
    };
    assert_eq!(
        p.supply(&stray, body.as_bytes()).expect_err("stray").code(),
        "manifest.not_pending"
    );
}

#[test]
fn sample_aes_on_fmp4_is_cbcs_with_key_ids_from_keyid_and_data_uris() {
    let kid = [0x42u8; 16];
    let data = base64::engine::general_purpose::STANDARD.encode(kid);
    let text = format!(
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"init.mp4\"\n\
         #EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"data:text/plain;base64,{data}\",KEYFORMAT=\"identity\"\n\
         #EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://key\",KEYFORMAT=\"com.apple.streamingkeydelivery\",KEYID=0x00112233445566778899aabbccddeeff\n\
         #EXTINF:2,\n1.m4s\n#EXTINF:2,\n2.m4s\n"
    );
    let p = parse("https://cdn.example/v.m3u8", &text).expect("a lone media playlist");
    assert!(p.live, "no EXT-X-ENDLIST");
    let r = &p.periods[0].tracks[0].renditions[0];
    assert_eq!(r.protection.len(), 1, "one key, two key formats");
    let key = &r.protection[0];
    assert_eq!(key.scheme, Scheme::Cbcs);
    assert_eq!(
        key.kids,
        vec![
            kid,
            parse_kid("00112233445566778899aabbccddeeff", Format::Hls).expect("hex")
        ]
    );
    assert_eq!(key.key_format.as_deref(), Some("identity"));
    assert!(ready(r).iter().all(|s| s.protection.is_some()));

    let ctr = text.replace("METHOD=SAMPLE-AES,", "METHOD=SAMPLE-AES-CTR,");
    let p = parse("https://cdn.example/v.m3u8", &ctr).expect("parses");
    assert_eq!(
        p.periods[0].tracks[0].renditions[0].protection[0].scheme,
        Scheme::Cenc
    );
    let ts = text.replace("#EXT-X-MAP:URI=\"init.mp4\"\n", "");
    let p = parse("https://cdn.example/v.m3u8", &ts).expect("parses");
    assert_eq!(
        p.periods[0].tracks[0].renditions[0].protection[0].scheme,
        Scheme::SampleAes
    );
}

#[test]
fn hls_errors_have_codes() {
    let cases = [
        (
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\nseg.ts\n",
            "manifest.missing_attribute",
        ),
        (
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128\n#EXTINF:2,\na.ts\n",
            "manifest.missing_attribute",
        ),
        (
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=ROT13,URI=\"k\"\n#EXTINF:2,\na.ts\n",
            "manifest.unsupported",
        ),
        (
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\",IV=0x12\n#EXTINF:2,\na.ts\n",
            "manifest.invalid_value",
        ),
        (
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n#EXT-X-BYTERANGE:100\na.ts\n",
            "manifest.invalid_value",
        ),
        (
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=99999999x1\na.m3u8\n",
            "manifest.invalid_value",
        ),
        ("not a playlist", "manifest.malformed"),
        ("", "manifest.malformed"),
    ];
    for (text, code) in cases {
        let err = parse("https://cdn.example/x.m3u8", text).expect_err(text);
        assert_eq!(err.code(), code, "{text:?}: {err}");
    }
}

/// A fixed-duration template over two periods, with BaseURLs at every level.
const TWO_PERIODS: &str = r#"<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:cenc="urn:mpeg:cenc:2013" type="static"
     mediaPresentationDuration="PT1M5S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <BaseURL>https://cdn.example/title/</BaseURL>
  <Period id="main" duration="PT60S">
    <BaseURL>main/</BaseURL>
    <AdaptationSet contentType="video" mimeType="video/mp4" codecs="avc1.64001f" frameRate="30000/1001">
      <BaseURL>video/</BaseURL>
      <ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cbcs" cenc:default_KID="0a0b0c0d-0e0f-1011-1213-141516171819"/>
      <ContentProtection schemeIdUri="urn:uuid:1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"><cenc:pssh>PSSH</cenc:pssh></ContentProtection>
      <SegmentTemplate timescale="1000" duration="4000" startNumber="0" media="$RepresentationID$/seg-$Number%05d$.m4s" initialization="$RepresentationID$/init.mp4"/>
      <Representation id="hd" bandwidth="2000000" width="1280" height="720"><BaseURL>hd-cdn/</BaseURL></Representation>
      <Representation id="sd" bandwidth="500000" width="640" height="360"/>
    </AdaptationSet>
    <AdaptationSet contentType="audio" lang="es" mimeType="audio/mp4" codecs="mp4a.40.2">
      <Label>Español</Label>
      <SegmentTemplate timescale="48000" media="a/$Time$.m4s" initialization="a/init.mp4">
        <SegmentTimeline><S t="0" d="96000" r="14"/><S d="96000" r="-1"/></SegmentTimeline>
      </SegmentTemplate>
      <Representation id="a" bandwidth="128000"/>
    </AdaptationSet>
    <AdaptationSet contentType="image" mimeType="image/jpeg"><Representation id="thumbs" bandwidth="1000"/></AdaptationSet>
  </Period>
  <Period id="ad">
    <AdaptationSet mimeType="video/mp4">
      <SegmentTemplate timescale="90000" media="ad/$Time$.m4s" presentationTimeOffset="900000">
        <SegmentTimeline><S t="900000" d="180000" r="1"/><S d="90000"/></SegmentTimeline>
      </SegmentTemplate>
      <Representation id="ad" bandwidth="800000" width="640" height="360"/>
    </AdaptationSet>
  </Period>
</MPD>"#;

fn pssh_box(kids: &[Kid]) -> Vec<u8> {
    let mut body = vec![1, 0, 0, 0];
    body.extend(pssh::COMMON_SYSTEM_ID);
    body.extend((kids.len() as u32).to_be_bytes());
    for k in kids {
        body.extend(k);
    }
    body.extend(0u32.to_be_bytes());
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend(b"pssh");
    out.extend(body);
    out
}

fn two_periods() -> Presentation {
    let kid = parse_kid("0a0b0c0d0e0f10111213141516171819", Format::Dash).expect("hex");
    let b64 = base64::engine::general_purpose::STANDARD.encode(pssh_box(&[kid]));
    parse(
        "https://origin.example/m.mpd",
        &TWO_PERIODS.replace("PSSH", &b64),
    )
    .expect("parses")
}

#[test]
fn dash_periods_templates_and_base_urls() {
    let p = two_periods();
    assert_eq!(p.source, Source::Dash);
    assert_eq!(p.duration, Some(65.0));
    assert_eq!(p.periods.len(), 2);
    let (main, ad) = (&p.periods[0], &p.periods[1]);
    assert_eq!((main.start, main.duration), (0.0, Some(60.0)));
    assert_eq!((ad.start, ad.duration), (60.0, Some(5.0)));
    assert_eq!(main.tracks.len(), 2, "thumbnails are not a track");

    let video = &main.tracks[0];
    let hd = &video.renditions[0];
    assert_eq!(
        (hd.width, hd.height, hd.bandwidth),
        (Some(1280), Some(720), 2_000_000)
    );
    assert!((hd.frame_rate.expect("fps") - 29.97).abs() < 0.001);
    assert_eq!(
        hd.codecs.as_deref(),
        Some("avc1.64001f"),
        "inherited from the set"
    );
    let segs = ready(hd);
    assert_eq!(segs.len(), 15, "60 s in 4 s segments");
    assert_eq!(
        segs[0].url.as_str(),
        "https://cdn.example/title/main/video/hd-cdn/hd/seg-00000.m4s"
    );
    assert_eq!(segs[14].number, 14);
    assert_eq!(segs[14].start, 56.0);
    let init = segs[0].init.as_ref().expect("init");
    assert_eq!(
        init.url.as_str(),
        "https://cdn.example/title/main/video/hd-cdn/hd/init.mp4"
    );
    let sd = ready(&video.renditions[1]);
    assert_eq!(
        sd[3].url.as_str(),
        "https://cdn.example/title/main/video/sd/seg-00003.m4s"
    );

    let audio = &main.tracks[1];
    assert_eq!(audio.kind, TrackKind::Audio);
    assert_eq!(
        (audio.language.as_deref(), audio.name.as_deref()),
        (Some("es"), Some("Español"))
    );
    let a = ready(&audio.renditions[0]);
    // 15 explicit segments of 2 s, then r=-1 fills the period to 60 s.
    assert_eq!(a.len(), 30);
    assert_eq!(
        a[29].url.as_str(),
        "https://cdn.example/title/main/a/2784000.m4s"
    );
    assert!((total(a) - 60.0).abs() < 1e-9);

    let ad_segs = ready(&ad.tracks[0].renditions[0]);
    assert_eq!(
        ad_segs.iter().map(|s| s.start).collect::<Vec<_>>(),
        vec![60.0, 62.0, 64.0]
    );
    assert_eq!(
        ad_segs.iter().map(|s| s.duration).collect::<Vec<_>>(),
        vec![2.0, 2.0, 1.0]
    );
    assert!(
        ad_segs[0].discontinuity,
        "a new period starts a new timeline"
    );
    assert!(!ad_segs[1].discontinuity && !segs[0].discontinuity);
}

#[test]
fn dash_content_protection_gives_scheme_kids_and_pssh() {
    let p = two_periods();
    let hd = &p.periods[0].tracks[0].renditions[0];
    let prot = hd.protection.first().expect("protected");
    assert_eq!(prot.scheme, Scheme::Cbcs);
    let kid = parse_kid("0a0b0c0d-0e0f-1011-1213-141516171819", Format::Dash).expect("uuid");
    assert_eq!(prot.kids, vec![kid]);
    assert_eq!(prot.pssh.len(), 1);
    assert_eq!(prot.pssh[0].system_id, pssh::COMMON_SYSTEM_ID);
    assert_eq!(prot.pssh[0].kids, vec![kid]);
    assert!(
        ready(hd)
            .iter()
            .all(|s| s.protection.as_ref() == Some(prot))
    );
    assert!(
        p.periods[0].tracks[1].renditions[0].protection.is_empty(),
        "audio is clear"
    );
}

const SEGMENT_BASE: &str = r#"<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S">
  <Period>
    <AdaptationSet mimeType="audio/mp4" lang="en">
      <Representation id="a" bandwidth="64000">
        <BaseURL>audio.mp4</BaseURL>
        <SegmentBase indexRange="800-867" timescale="48000">
          <Initialization range="0-799"/>
        </SegmentBase>
      </Representation>
    </AdaptationSet>
    <AdaptationSet mimeType="video/mp4">
      <SegmentList timescale="10" duration="50">
        <Initialization sourceURL="v/init.mp4"/>
        <SegmentURL media="v/all.mp4" mediaRange="0-999"/>
        <SegmentURL media="v/all.mp4" mediaRange="1000-2999"/>
      </SegmentList>
      <Representation id="v" bandwidth="300000" width="320" height="180"/>
    </AdaptationSet>
  </Period>
</MPD>"#;

#[test]
fn segment_base_needs_its_sidx_and_then_lists_its_byte_ranges() {
    let mut p = parse("https://cdn.example/t/m.mpd", SEGMENT_BASE).expect("parses");
    let pending = p.pending();
    assert_eq!(pending.len(), 1);
    let fetch = &pending[0];
    assert_eq!(fetch.kind, FetchKind::SegmentIndex);
    assert_eq!(fetch.url.as_str(), "https://cdn.example/t/audio.mp4");
    assert_eq!(
        fetch.range,
        Some(ByteRange {
            offset: 800,
            length: 68
        })
    );
    // 3 subsegments of 4, 4 and 2 s (48 kHz), starting 20 bytes after the
    // box, which ends at 800 + 68.
    let sidx_box = sidx::build(
        48_000,
        0,
        20,
        &[(5000, 192_000), (6000, 192_000), (3000, 96_000)],
    );
    assert_eq!(sidx_box.len(), 32 + 3 * 12, "v0 with 3 references");
    assert_eq!(p.supply(fetch, &sidx_box).expect("sidx"), 1);
    let a = ready(&p.periods[0].tracks[0].renditions[0]);
    let ranges: Vec<_> = a
        .iter()
        .map(|s| s.range.map(|r| (r.offset, r.length)))
        .collect();
    assert_eq!(
        ranges,
        vec![Some((888, 5000)), Some((5888, 6000)), Some((11888, 3000))]
    );
    assert_eq!(
        a.iter().map(|s| s.start).collect::<Vec<_>>(),
        vec![0.0, 4.0, 8.0]
    );
    assert!((total(a) - 10.0).abs() < 1e-9);
    let init = a[0].init.as_ref().expect("init");
    assert_eq!(
        (init.url.as_str(), init.range),
        (
            "https://cdn.example/t/audio.mp4",
            Some(ByteRange {
                offset: 0,
                length: 800
            })
        )
    );

    let v = ready(&p.periods[0].tracks[1].renditions[0]);
    assert_eq!(v.len(), 2);
    assert_eq!(
        v[1].range,
        Some(ByteRange {
            offset: 1000,
            length: 2000
        })
    );
    assert_eq!((v[1].start, v[1].duration), (5.0, 5.0));
    assert_eq!(
        v[0].init.as_ref().expect("init").url.as_str(),
        "https://cdn.example/t/v/init.mp4"
    );
}

#[test]
fn sidx_version_1_and_bad_boxes() {
    let big = sidx::build(1000, 5_000_000_000, 0, &[(100, 2000), (200, 2000)]);
    assert_eq!(big[8], 1, "64-bit fields need version 1");
    let s = sidx::parse(&big, 10).expect("v1");
    assert_eq!(s.earliest_presentation_time, 5_000_000_000);
    assert_eq!(
        s.references[1].range,
        ByteRange {
            offset: 10 + big.len() as u64 + 100,
            length: 200
        }
    );
    // A styp before the sidx is skipped.
    let mut with_styp = vec![0, 0, 0, 12, b's', b't', b'y', b'p', b'c', b'm', b'f', b'c'];
    with_styp.extend(&big);
    assert_eq!(
        sidx::parse(&with_styp, 0).expect("found").references.len(),
        2
    );

    let mut hierarchical = sidx::build(1000, 0, 0, &[(100, 2000)]);
    let at = hierarchical.len() - 12;
    hierarchical[at] |= 0x80;
    assert_eq!(
        sidx::parse(&hierarchical, 0).expect_err("type 1").code(),
        "manifest.unsupported"
    );
    for cut in 0..big.len() {
        assert!(sidx::parse(&big[..cut], 0).is_err(), "truncated at {cut}");
    }
    let mut lying = sidx::build(1000, 0, 0, &[(100, 2000)]);
    let n = lying.len();
    lying[n - 14] = 0xff; // reference_count's high byte
    assert_eq!(
        sidx::parse(&lying, 0).expect_err("count").code(),
        "manifest.malformed"
    );
}

#[test]
fn dash_errors_have_codes() {
    let mpd = |period: &str| {
        format!(
            r#"<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S"><Period>{period}</Period></MPD>"#
        )
    };
    let set = |inner: &str| {
        mpd(&format!(
            r#"<AdaptationSet mimeType="video/mp4">{inner}</AdaptationSet>"#
        ))
    };
    let cases = [
        (
            r#"<MPD type="dynamic"><Period/></MPD>"#.to_owned(),
            "manifest.unsupported",
        ),
        (
            set(r#"<Representation id="v"><BaseURL>v.mp4</BaseURL></Representation>"#),
            "manifest.missing_attribute",
        ),
        (
            set(
                r#"<SegmentTemplate media="$Number$" duration="0"/><Representation id="v" bandwidth="1"/>"#,
            ),
            "manifest.invalid_value",
        ),
        (
            set(
                r#"<SegmentTemplate media="$Number$" timescale="0" duration="1"/><Representation id="v" bandwidth="1"/>"#,
            ),
            "manifest.invalid_value",
        ),
        (
            set(r#"<SegmentTemplate media="$Number$"/><Representation id="v" bandwidth="1"/>"#),
            "manifest.missing_attribute",
        ),
        (
            set(
                r#"<SegmentTemplate media="$Time$"><SegmentTimeline><S d="0" r="-1"/></SegmentTimeline></SegmentTemplate><Representation id="v" bandwidth="1"/>"#,
            ),
            "manifest.invalid_value",
        ),
        (
            set(
                r#"<SegmentTemplate media="$Time$"><SegmentTimeline><S d="1" r="-5"/></SegmentTimeline></SegmentTemplate><Representation id="v" bandwidth="1"/>"#,
            ),
            "manifest.invalid_value",
        ),
        // A ten-line MPD claiming 10^12 segments, two ways.
        (
            set(
                r#"<SegmentTemplate media="$Time$"><SegmentTimeline><S d="1" r="999999999999"/></SegmentTimeline></SegmentTemplate><Representation id="v" bandwidth="1"/>"#,
            ),
            "manifest.too_many_segments",
        ),
        (
            set(
                r#"<SegmentTemplate media="$Number$" timescale="100000000000" duration="1"/><Representation id="v" bandwidth="1"/>"#,
            ),
            "manifest.too_many_segments",
        ),
        (
            set(
                r#"<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc" cenc:default_KID="nothex"/><Representation id="v" bandwidth="1"><BaseURL>v.mp4</BaseURL></Representation>"#,
            ),
            "manifest.invalid_value",
        ),
        (
            set(
                r#"<Representation id="v" bandwidth="1"><SegmentBase indexRange="9-3"/></Representation>"#,
            ),
            "manifest.invalid_value",
        ),
        (
            mpd("").replace("<Period></Period>", ""),
            "manifest.malformed",
        ),
        (
            "<MPD><Period><AdaptationSet".to_owned(),
            "manifest.malformed",
        ),
        ("<?xml?><nope/>".to_owned(), "manifest.malformed"),
    ];
    for (text, code) in cases {
        let err = parse("https://cdn.example/m.mpd", &text).expect_err(&text);
        assert_eq!(err.code(), code, "{text}: {err}");
    }
}

#[test]
fn documents_over_the_size_limit_are_refused_before_parsing() {
    let limits = Limits {
        max_bytes: 1000,
        ..Limits::default()
    };
    let big = format!("#EXTM3U\n{}", "#EXT-X-FOO\n".repeat(200));
    let err = Presentation::parse(&url("https://cdn.example/x.m3u8"), big.as_bytes(), &limits)
        .expect_err("too big");
    assert_eq!(err.code(), "manifest.too_large");
    let err = Presentation::parse(
        &url("https://cdn.example/x.mpd"),
        format!("<MPD>{}</MPD>", " ".repeat(2000)).as_bytes(),
        &limits,
    )
    .expect_err("too big");
    assert_eq!(err.code(), "manifest.too_large");
}

#[test]
fn a_hundred_thousand_segments_parse_and_the_cap_holds() {
    let n = 100_000;
    let mut hls = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n");
    for i in 0..n {
        hls.push_str(&format!(
            "#EXTINF:{},\ns/{i}.ts\n",
            if i % 2 == 0 { "2.0" } else { "1.5" }
        ));
    }
    hls.push_str("#EXT-X-ENDLIST\n");
    let p = parse("https://cdn.example/long.m3u8", &hls).expect("100k HLS segments");
    let segs = ready(&p.periods[0].tracks[0].renditions[0]);
    assert_eq!(segs.len(), n);
    assert_eq!(
        segs[n - 1].url.as_str(),
        format!("https://cdn.example/s/{}.ts", n - 1)
    );
    assert_eq!(p.duration, Some(175_000.0));

    // A DASH timeline written out S by S (no r to collapse it).
    let mut timeline = String::new();
    for i in 0..n {
        timeline.push_str(if i % 2 == 0 {
            "<S d=\"2000\"/>"
        } else {
            "<S d=\"1500\"/>"
        });
    }
    let dash = format!(
        r#"<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT175000S"><Period>
        <AdaptationSet mimeType="video/mp4"><SegmentTemplate timescale="1000" media="$Time$.m4s"><SegmentTimeline>{timeline}</SegmentTimeline></SegmentTemplate>
        <Representation id="v" bandwidth="1"/></AdaptationSet></Period></MPD>"#
    );
    let p = parse("https://cdn.example/long.mpd", &dash).expect("100k DASH segments");
    let segs = ready(&p.periods[0].tracks[0].renditions[0]);
    assert_eq!(segs.len(), n);
    assert!((total(segs) - 175_000.0).abs() < 1e-6);
    // 50,000 × 2000 + 49,999 × 1500 ticks precede the last one.
    assert_eq!(
        segs[n - 1].url.as_str(),
        "https://cdn.example/174998500.m4s"
    );

    // The same documents under a lower cap are refused, not truncated.
    let limits = Limits {
        max_segments: n - 1,
        ..Limits::default()
    };
    for (u, text) in [
        ("https://cdn.example/l.m3u8", &hls),
        ("https://cdn.example/l.mpd", &dash),
    ] {
        let err = Presentation::parse(&url(u), text.as_bytes(), &limits).expect_err("over the cap");
        assert_eq!(err.code(), "manifest.too_many_segments", "{u}");
    }
}

/// Deterministic byte mutations of a document: truncations, flipped
/// bytes, and bytes replaced by the characters parsers care about.
pub(crate) fn mutations(doc: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    let step = (doc.len() / 200).max(1);
    let cuts = (0..doc.len()).step_by(step).map(|n| doc[..n].to_vec());
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let flips = (0..600).map(move |_| {
        let mut d = doc.to_vec();
        for _ in 0..3 {
            // xorshift: the same mutations on every run.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state % d.len().max(1) as u64) as usize;
            let specials = b"\"<>=,$:-@%/\n0919";
            if let Some(b) = d.get_mut(at) {
                *b = if state & 1 == 0 {
                    *b ^ (1 << (state >> 8 & 7))
                } else {
                    specials[(state >> 16) as usize % specials.len()]
                };
            }
        }
        d
    });
    cuts.chain(flips)
}

#[test]
fn mutated_hand_written_manifests_never_panic() {
    let limits = Limits::default();
    let u = url("https://cdn.example/x/m");
    let mut survived = 0;
    let docs: [&[u8]; 4] = [
        MULTIVARIANT.as_bytes(),
        MEDIA.as_bytes(),
        TWO_PERIODS.as_bytes(),
        SEGMENT_BASE.as_bytes(),
    ];
    for doc in docs {
        for m in mutations(doc) {
            if let Ok(mut p) = Presentation::parse(&u, &m, &limits) {
                survived += 1;
                for f in p.pending() {
                    let _ = p.supply(&f, MEDIA.as_bytes());
                }
            }
        }
    }
    assert!(survived > 0, "some mutations are still valid manifests");
}

#[test]
fn a_broken_mpd_whose_error_quotes_a_multibyte_character_is_refused_not_a_panic() {
    // Found by the `dash` fuzz target: the parser's message quoted the
    // document, and cutting it to 300 bytes fell inside a character.
    let mut mpd = String::from("<MPD>");
    mpd.push_str(&"é".repeat(400));
    mpd.push_str("</MPD");
    let err = parse("https://cdn.example/x.mpd", &mpd).expect_err("malformed");
    assert_eq!(err.code(), "manifest.malformed", "{err}");
}
