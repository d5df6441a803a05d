//! The ad plan: a VMAP 1.0 document whose breaks carry inline VAST 4 ads.
//!
//! Only what the box acts on is kept: where each break sits, and for each
//! ad its duration, its streams, and the URLs to call as it plays. What a
//! box cannot act on is skipped with a log line rather than failing the
//! whole plan (the viewer would rather lose one ad than the title): a
//! break that points at a VAST URL (`AdTagURI`), a `Wrapper` ad, an ad with
//! no HLS or DASH stream. A document that is not a VMAP fails with
//! `ads.malformed`: the title then plays without ads.

/// Bounds on what a plan may hold: an ad server is not trusted to be sane.
const MAX_BYTES: usize = 512 * 1024;
const MAX_BREAKS: usize = 64;
const MAX_ADS_PER_BREAK: usize = 16;

/// Why a plan could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// Not a VMAP document the box can read.
    #[error("ads.malformed: {0}")]
    Malformed(String),
    /// The ad server did not answer with a plan.
    #[error("ads.unavailable: {0}")]
    Unavailable(String),
}

impl PlanError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "ads.malformed",
            Self::Unavailable(_) => "ads.unavailable",
        }
    }
}

/// Where a break sits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Offset {
    /// Before the content.
    Start,
    /// This many seconds into the content.
    At(f64),
    /// After the content.
    End,
}

/// One break.
#[derive(Debug, Clone, PartialEq)]
pub struct AdBreak {
    /// `breakId`, e.g. `preroll` (the position when absent).
    pub id: String,
    /// Where it sits.
    pub offset: Offset,
    /// Its ads, in play order.
    pub ads: Vec<Ad>,
}

/// One linear ad.
#[derive(Debug, Clone, PartialEq)]
pub struct Ad {
    /// The VAST `Ad id`.
    pub id: String,
    /// Its declared duration, seconds.
    pub duration_s: f64,
    /// Its HLS stream.
    pub hls_url: Option<String>,
    /// Its DASH stream.
    pub dash_url: Option<String>,
    /// `Impression` URLs.
    pub impressions: Vec<String>,
    /// `Error` URLs (with the `[ERRORCODE]` macro).
    pub errors: Vec<String>,
    /// `(event, url)` of the linear creative's `TrackingEvents`.
    pub tracking: Vec<(String, String)>,
}

/// A whole plan, breaks in play order (start, cue points ascending, end).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AdPlan {
    /// The breaks that have ads.
    pub breaks: Vec<AdBreak>,
}

impl AdPlan {
    /// Reads a VMAP document; `duration_s` (the title's running time)
    /// places percentage offsets.
    pub fn parse(xml: &str, duration_s: f64) -> Result<Self, PlanError> {
        if xml.len() > MAX_BYTES {
            return Err(PlanError::Malformed(format!(
                "the plan is {} bytes; at most {MAX_BYTES} are read",
                xml.len()
            )));
        }
        let doc = roxmltree::Document::parse(xml)
            .map_err(|e| PlanError::Malformed(format!("not XML: {e}")))?;
        let root = doc.root_element();
        if root.tag_name().name() != "VMAP" {
            return Err(PlanError::Malformed(format!(
                "the root element is <{}>, not <VMAP>",
                root.tag_name().name()
            )));
        }
        let mut breaks = Vec::new();
        for (n, node) in children(root, "AdBreak").enumerate() {
            if breaks.len() == MAX_BREAKS {
                tracing::warn!(
                    max = MAX_BREAKS,
                    "ad plan has too many breaks; the rest ignored"
                );
                break;
            }
            let id = node
                .attribute("breakId")
                .map_or_else(|| format!("break-{}", n + 1), str::to_owned);
            let Some(offset) = node
                .attribute("timeOffset")
                .and_then(|t| offset(t, duration_s))
            else {
                tracing::warn!(%id, "ad break with an unreadable timeOffset ignored");
                continue;
            };
            let ads = break_ads(node, &id);
            if !ads.is_empty() {
                breaks.push(AdBreak { id, offset, ads });
            }
        }
        breaks.sort_by(|a, b| rank(a.offset).total_cmp(&rank(b.offset)));
        Ok(Self { breaks })
    }
}

/// Sort key: start first, end last.
fn rank(offset: Offset) -> f64 {
    match offset {
        Offset::Start => f64::NEG_INFINITY,
        Offset::At(s) => s,
        Offset::End => f64::INFINITY,
    }
}

/// The element children of `node` named `name` (any namespace: VMAP uses
/// a prefix, VAST a default namespace, and servers vary).
fn children<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    name: &'static str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn child<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    name: &'static str,
) -> Option<roxmltree::Node<'a, 'i>> {
    children(node, name).next()
}

/// The trimmed text of a node (CDATA included).
fn text(node: roxmltree::Node<'_, '_>) -> String {
    node.children()
        .filter_map(|c| c.text())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// `start`, `end`, `HH:MM:SS[.mmm]` or `n%`.
fn offset(value: &str, duration_s: f64) -> Option<Offset> {
    match value.trim() {
        "start" => Some(Offset::Start),
        "end" => Some(Offset::End),
        v if v.ends_with('%') => {
            let share: f64 = v.trim_end_matches('%').parse().ok()?;
            (0.0..=100.0)
                .contains(&share)
                .then(|| Offset::At(duration_s * share / 100.0))
        }
        v => clock(v).map(Offset::At),
    }
}

/// `HH:MM:SS[.mmm]` in seconds.
pub fn clock(value: &str) -> Option<f64> {
    let mut parts = value.trim().split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    let s: f64 = s.parse().ok()?;
    (m < 60 && (0.0..60.0).contains(&s)).then(|| f64::from(h) * 3600.0 + f64::from(m) * 60.0 + s)
}

/// The inline ads of a break, in `sequence` order.
fn break_ads(node: roxmltree::Node<'_, '_>, id: &str) -> Vec<Ad> {
    let Some(source) = child(node, "AdSource") else {
        return Vec::new();
    };
    let Some(vast) = child(source, "VASTAdData").and_then(|d| child(d, "VAST")) else {
        tracing::warn!(%id, "ad break without inline VAST (AdTagURI is not followed) ignored");
        return Vec::new();
    };
    let mut ads: Vec<(u32, Ad)> = Vec::new();
    for ad in children(vast, "Ad") {
        if ads.len() == MAX_ADS_PER_BREAK {
            break;
        }
        let ad_id = ad.attribute("id").unwrap_or("ad").to_owned();
        let sequence = ad
            .attribute("sequence")
            .and_then(|s| s.parse().ok())
            .unwrap_or(u32::MAX);
        match child(ad, "InLine").and_then(|i| inline(i, &ad_id)) {
            Some(parsed) => ads.push((sequence, parsed)),
            None => {
                tracing::warn!(%id, ad = %ad_id, "ad without a playable inline linear creative ignored")
            }
        }
    }
    ads.sort_by_key(|(seq, _)| *seq);
    ads.into_iter().map(|(_, ad)| ad).collect()
}

fn inline(node: roxmltree::Node<'_, '_>, id: &str) -> Option<Ad> {
    let urls = |name: &'static str| -> Vec<String> {
        children(node, name)
            .map(text)
            .filter(|u| is_http(u))
            .collect()
    };
    let linear = child(node, "Creatives")
        .into_iter()
        .flat_map(|c| children(c, "Creative"))
        .find_map(|c| child(c, "Linear"))?;
    let duration_s = child(linear, "Duration").and_then(|d| clock(&text(d)))?;
    let mut hls_url = None;
    let mut dash_url = None;
    for file in child(linear, "MediaFiles")
        .into_iter()
        .flat_map(|m| children(m, "MediaFile"))
    {
        let url = text(file);
        if !is_http(&url) {
            continue;
        }
        match file.attribute("type").unwrap_or_default() {
            "application/x-mpegURL" | "application/vnd.apple.mpegurl" => {
                hls_url.get_or_insert(url);
            }
            "application/dash+xml" => {
                dash_url.get_or_insert(url);
            }
            _ => {}
        }
    }
    if hls_url.is_none() && dash_url.is_none() {
        return None;
    }
    let tracking = child(linear, "TrackingEvents")
        .into_iter()
        .flat_map(|t| children(t, "Tracking"))
        .filter_map(|t| {
            let url = text(t);
            Some((t.attribute("event")?.to_owned(), url)).filter(|(_, u)| is_http(u))
        })
        .collect();
    Some(Ad {
        id: id.to_owned(),
        duration_s,
        hls_url,
        dash_url,
        impressions: urls("Impression"),
        errors: urls("Error"),
        tracking,
    })
}

fn is_http(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plan as the ottbox headend writes it, trimmed to two breaks.
    const PLAN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<vmap:VMAP xmlns:vmap="http://www.iab.net/videosuite/vmap" version="1.0">
  <vmap:AdBreak timeOffset="00:00:03.000" breakType="linear" breakId="midroll-1">
    <vmap:AdSource id="m-ads" allowMultipleAds="true" followRedirects="false">
      <vmap:VASTAdData>
<VAST version="4.1" xmlns="http://www.iab.com/VAST">
<Ad id="ad-1" sequence="2"><InLine>
  <Impression><![CDATA[http://h/track?ad=ad-1&e=impression]]></Impression>
  <Error><![CDATA[http://h/track?ad=ad-1&e=error&code=[ERRORCODE]]]></Error>
  <Creatives><Creative><Linear><Duration>00:00:02.000</Duration>
    <TrackingEvents><Tracking event="start"><![CDATA[http://h/track?ad=ad-1&e=start]]></Tracking></TrackingEvents>
    <MediaFiles><MediaFile delivery="streaming" type="application/x-mpegURL"><![CDATA[http://h/ad-1.m3u8]]></MediaFile></MediaFiles>
  </Linear></Creative></Creatives>
</InLine></Ad>
<Ad id="ad-0" sequence="1"><InLine>
  <Creatives><Creative><Linear><Duration>00:00:02.500</Duration>
    <MediaFiles><MediaFile type="application/dash+xml"><![CDATA[http://h/ad-0.mpd]]></MediaFile></MediaFiles>
  </Linear></Creative></Creatives>
</InLine></Ad>
</VAST>
      </vmap:VASTAdData>
    </vmap:AdSource>
  </vmap:AdBreak>
  <vmap:AdBreak timeOffset="start" breakType="linear" breakId="preroll">
    <vmap:AdSource><vmap:AdTagURI templateType="vast4"><![CDATA[http://elsewhere/vast]]></vmap:AdTagURI></vmap:AdSource>
  </vmap:AdBreak>
  <vmap:AdBreak timeOffset="50%" breakId="half"><vmap:AdSource><vmap:VASTAdData><VAST version="4.1">
    <Ad id="w"><Wrapper/></Ad>
    <Ad id="ad-2"><InLine><Creatives><Creative><Linear><Duration>00:00:01</Duration>
      <MediaFiles><MediaFile type="application/x-mpegURL">http://h/ad-2.m3u8</MediaFile></MediaFiles>
    </Linear></Creative></Creatives></InLine></Ad>
  </VAST></vmap:VASTAdData></vmap:AdSource></vmap:AdBreak>
</vmap:VMAP>"#;

    #[test]
    fn breaks_come_in_play_order_with_their_ads_in_sequence() {
        let plan = AdPlan::parse(PLAN, 10.0).expect("plan");
        let ids: Vec<&str> = plan.breaks.iter().map(|b| b.id.as_str()).collect();
        // The AdTagURI pre-roll is skipped; 50 % of 10 s is after 3 s.
        assert_eq!(ids, ["midroll-1", "half"]);
        assert_eq!(plan.breaks[0].offset, Offset::At(3.0));
        assert_eq!(plan.breaks[1].offset, Offset::At(5.0));
        let ads = &plan.breaks[0].ads;
        assert_eq!(ads[0].id, "ad-0");
        assert_eq!(ads[0].duration_s, 2.5);
        assert_eq!(ads[0].dash_url.as_deref(), Some("http://h/ad-0.mpd"));
        assert_eq!(ads[1].hls_url.as_deref(), Some("http://h/ad-1.m3u8"));
        assert_eq!(ads[1].impressions, ["http://h/track?ad=ad-1&e=impression"]);
        assert_eq!(
            ads[1].tracking,
            [(
                "start".to_owned(),
                "http://h/track?ad=ad-1&e=start".to_owned()
            )]
        );
        assert_eq!(
            plan.breaks[1].ads.len(),
            1,
            "the wrapper ad is skipped, the inline one kept"
        );
    }

    #[test]
    fn an_empty_plan_has_no_breaks() {
        let xml = r#"<vmap:VMAP xmlns:vmap="http://www.iab.net/videosuite/vmap" version="1.0"></vmap:VMAP>"#;
        assert_eq!(AdPlan::parse(xml, 60.0).expect("plan"), AdPlan::default());
    }

    #[test]
    fn what_is_not_a_vmap_is_malformed() {
        for bad in ["", "<VAST/>", "<vmap:VMAP", "not xml at all"] {
            let err = AdPlan::parse(bad, 60.0).expect_err(bad);
            assert_eq!(err.code(), "ads.malformed", "{bad:?}");
        }
        let huge = format!("<VMAP>{}</VMAP>", " ".repeat(MAX_BYTES));
        assert!(AdPlan::parse(&huge, 60.0).is_err());
    }

    #[test]
    fn every_truncation_of_a_plan_is_an_error_or_a_plan_never_a_panic() {
        for end in (0..PLAN.len()).filter(|&i| PLAN.is_char_boundary(i)) {
            if let Ok(plan) = AdPlan::parse(&PLAN[..end], 10.0) {
                assert!(plan.breaks.len() <= 2, "at {end}");
            }
        }
    }

    #[test]
    fn clocks_and_offsets() {
        assert_eq!(clock("01:02:05.500"), Some(3725.5));
        assert_eq!(clock("00:61:00"), None);
        assert_eq!(clock("12"), None);
        assert_eq!(offset("end", 9.0), Some(Offset::End));
        assert_eq!(offset("150%", 9.0), None);
        assert_eq!(
            offset("#2", 9.0),
            None,
            "positional offsets are not supported"
        );
    }
}
