//! Ad plans: VMAP 1.0 break schedules carrying VAST 4 inline linear ads.
//!
//! A plan has a pre-roll, mid-rolls at cue points and a post-roll. Every ad
//! is a clear HLS/DASH asset on the same origin as the content, so the box
//! plays it through the same pipeline. Each ad carries tracking URLs for
//! impression, start, quartiles, complete and error; they point back at the
//! headend, which records them (see `server/ads.rs`).
//!
//! This module only renders XML; URLs go into CDATA sections so that query
//! strings need no escaping.

/// Where a break sits in the content.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Offset {
    /// Before the content.
    Start,
    /// At this many seconds into the content.
    At(f64),
    /// After the content.
    End,
}

impl Offset {
    /// The VMAP `timeOffset` value.
    pub fn vmap(self) -> String {
        match self {
            Self::Start => "start".into(),
            Self::End => "end".into(),
            Self::At(s) => clock(s),
        }
    }
}

/// `HH:MM:SS.mmm`, as VMAP and VAST write times.
pub fn clock(seconds: f64) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// One ad of a break.
#[derive(Debug, Clone, PartialEq)]
pub struct Ad {
    /// The creative's asset id.
    pub id: String,
    /// Its duration, seconds.
    pub duration_s: f64,
    /// Its HLS playlist.
    pub hls_url: String,
    /// Its DASH MPD.
    pub dash_url: Option<String>,
    /// Tracking URL without the event: `...&e=<event>` is appended.
    pub tracking: String,
}

/// One ad break.
#[derive(Debug, Clone, PartialEq)]
pub struct Break {
    /// `preroll`, `midroll-1`, ..., `postroll`.
    pub id: String,
    /// Where it sits.
    pub offset: Offset,
    /// Its ads, in play order.
    pub ads: Vec<Ad>,
}

/// The VAST linear tracking events a box fires, in the order it fires them.
pub const TRACKING_EVENTS: &[&str] = &[
    "start",
    "firstQuartile",
    "midpoint",
    "thirdQuartile",
    "complete",
];

/// Renders a VMAP document (no breaks: an empty plan).
pub fn vmap(breaks: &[Break]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<vmap:VMAP xmlns:vmap=\"http://www.iab.net/videosuite/vmap\" version=\"1.0\">\n",
    );
    for b in breaks {
        out.push_str(&format!(
            "  <vmap:AdBreak timeOffset=\"{}\" breakType=\"linear\" breakId=\"{}\">\n    <vmap:AdSource id=\"{}-ads\" allowMultipleAds=\"true\" followRedirects=\"false\">\n      <vmap:VASTAdData>\n",
            b.offset.vmap(),
            b.id,
            b.id
        ));
        out.push_str(&vast(&b.ads));
        out.push_str("      </vmap:VASTAdData>\n    </vmap:AdSource>\n  </vmap:AdBreak>\n");
    }
    out.push_str("</vmap:VMAP>\n");
    out
}

/// Renders a VAST 4.1 document with `ads` as an ad pod.
pub fn vast(ads: &[Ad]) -> String {
    let mut out = String::from("<VAST version=\"4.1\" xmlns=\"http://www.iab.com/VAST\">\n");
    for (n, ad) in ads.iter().enumerate() {
        // `[CACHEBUSTING]`: the player puts a number there that is new for
        // each beacon and the same on every resend of it, so the tracking
        // endpoint counts a beacon once however often a lost reply makes
        // the player send it.
        let t = |event: &str| format!("<![CDATA[{}&e={event}&cb=[CACHEBUSTING]]]>", ad.tracking);
        let tracking: String = TRACKING_EVENTS
            .iter()
            .map(|e| format!("            <Tracking event=\"{e}\">{}</Tracking>\n", t(e)))
            .collect();
        let dash = ad
            .dash_url
            .as_ref()
            .map(|u| format!("            <MediaFile delivery=\"streaming\" type=\"application/dash+xml\" width=\"1280\" height=\"720\"><![CDATA[{u}]]></MediaFile>\n"))
            .unwrap_or_default();
        out.push_str(&format!(
            "<Ad id=\"{id}\" sequence=\"{seq}\">\n  <InLine>\n    <AdSystem version=\"1\">ottbox</AdSystem>\n    <AdServingId>{id}-{seq}</AdServingId>\n    <AdTitle>{id}</AdTitle>\n    <Impression id=\"{id}-imp\">{imp}</Impression>\n    <Error><![CDATA[{tracking_base}&e=error&code=[ERRORCODE]&cb=[CACHEBUSTING]]]></Error>\n    <Creatives>\n      <Creative id=\"{id}-c\" adId=\"{id}\" sequence=\"1\">\n        <UniversalAdId idRegistry=\"ottbox\">{id}</UniversalAdId>\n        <Linear>\n          <Duration>{dur}</Duration>\n          <TrackingEvents>\n{tracking}          </TrackingEvents>\n          <MediaFiles>\n            <MediaFile delivery=\"streaming\" type=\"application/x-mpegURL\" width=\"1280\" height=\"720\"><![CDATA[{hls}]]></MediaFile>\n{dash}          </MediaFiles>\n        </Linear>\n      </Creative>\n    </Creatives>\n  </InLine>\n</Ad>\n",
            id = ad.id,
            seq = n + 1,
            imp = t("impression"),
            tracking_base = ad.tracking,
            dur = clock(ad.duration_s),
            hls = ad.hls_url,
        ));
    }
    out.push_str("</VAST>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_format() {
        assert_eq!(clock(0.0), "00:00:00.000");
        assert_eq!(clock(4.0), "00:00:04.000");
        assert_eq!(clock(3725.5), "01:02:05.500");
    }

    #[test]
    fn empty_plan_is_a_valid_vmap_with_no_breaks() {
        let xml = vmap(&[]);
        assert!(xml.contains("<vmap:VMAP") && !xml.contains("AdBreak"));
    }
}
