//! Common Media Client Data (CTA-5004): what the player tells the CDN
//! with every request.
//!
//! Each media request carries a `CMCD` query parameter with the keys the
//! CDN uses to see one viewer's session and its health: encoded bitrate
//! (`br`), buffer length (`bl`), buffer starvation (`bs`), content id
//! (`cid`), object duration (`d`), measured throughput (`mtp`), object
//! type (`ot`), streaming format (`sf`), session id (`sid`), startup
//! (`su`) and top bitrate (`tb`). The edges' access logs keep the
//! parameter, so an operator can tell a stalling viewer from a slow edge.
//!
//! The encoding follows CTA-5004 §3: keys in alphabetical order, separated
//! by commas; a true boolean is the bare key and a false one is left out;
//! strings are quoted, tokens are not; numbers are integers in the units
//! the standard gives (kbps, ms), `bl` rounded to 100 ms and `mtp` to
//! 100 kbps.
//!
//! ```
//! use ottboxd::playback::cmcd::{Cmcd, ObjectType, Request, StreamFormat};
//!
//! let cmcd = Cmcd::new("6e2fb550-c457-11e9-bb97-0800200c9a66", "ml-1", StreamFormat::Hls);
//! let r = Request { bitrate_kbps: Some(3200), buffer_ms: Some(12_345), ..Request::new(ObjectType::Video) };
//! assert_eq!(
//!     cmcd.value(&r),
//!     r#"bl=12300,br=3200,cid="ml-1",ot=v,sf=h,sid="6e2fb550-c457-11e9-bb97-0800200c9a66""#
//! );
//! ```

use url::Url;

/// What is being fetched (`ot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectType {
    /// A manifest or playlist (`m`).
    Manifest,
    /// Audio only (`a`).
    Audio,
    /// Video only (`v`).
    Video,
    /// An init segment (`i`).
    Init,
    /// Captions or subtitles (`c`).
    Caption,
    /// A key or license (`k`).
    Key,
    /// Anything else (`o`).
    Other,
}

impl ObjectType {
    fn token(self) -> &'static str {
        match self {
            Self::Manifest => "m",
            Self::Audio => "a",
            Self::Video => "v",
            Self::Init => "i",
            Self::Caption => "c",
            Self::Key => "k",
            Self::Other => "o",
        }
    }
}

/// The streaming format (`sf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    /// HLS (`h`).
    Hls,
    /// MPEG-DASH (`d`).
    Dash,
}

/// What one request says beyond the session's constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// `ot`.
    pub object: ObjectType,
    /// `br`: the encoded bitrate of the object, kbps.
    pub bitrate_kbps: Option<u64>,
    /// `bl`: buffer length, ms.
    pub buffer_ms: Option<u64>,
    /// `bs`: the buffer ran dry since the last request.
    pub starved: bool,
    /// `d`: the object's duration, ms.
    pub duration_ms: Option<u64>,
    /// `mtp`: measured throughput, kbps.
    pub throughput_kbps: Option<u64>,
    /// `su`: fetched before playback started (or restarted after a seek).
    pub startup: bool,
    /// `tb`: the top bitrate the player may choose now, kbps.
    pub top_kbps: Option<u64>,
}

impl Request {
    /// A request for an object of type `object`, nothing else known.
    pub fn new(object: ObjectType) -> Self {
        Self {
            object,
            bitrate_kbps: None,
            buffer_ms: None,
            starved: false,
            duration_ms: None,
            throughput_kbps: None,
            startup: false,
            top_kbps: None,
        }
    }
}

/// The constants of one playback session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmcd {
    session_id: String,
    content_id: String,
    format: StreamFormat,
}

impl Cmcd {
    /// The keys of session `session_id` playing `content_id`.
    pub fn new(session_id: &str, content_id: &str, format: StreamFormat) -> Self {
        Self {
            session_id: session_id.to_owned(),
            content_id: content_id.to_owned(),
            format,
        }
    }

    /// The CMCD value for `r` (before URL encoding).
    pub fn value(&self, r: &Request) -> String {
        // (key, encoded value or None for a bare boolean), pushed in
        // alphabetical order.
        let mut keys: Vec<(&str, Option<String>)> = Vec::new();
        if let Some(ms) = r.buffer_ms {
            keys.push(("bl", Some((ms / 100 * 100).to_string())));
        }
        if let Some(br) = r.bitrate_kbps {
            keys.push(("br", Some(br.to_string())));
        }
        if r.starved {
            keys.push(("bs", None));
        }
        keys.push(("cid", Some(quoted(&self.content_id))));
        if let Some(d) = r.duration_ms {
            keys.push(("d", Some(d.to_string())));
        }
        if let Some(mtp) = r.throughput_kbps {
            keys.push(("mtp", Some((mtp / 100 * 100).to_string())));
        }
        keys.push(("ot", Some(r.object.token().to_owned())));
        let sf = match self.format {
            StreamFormat::Hls => "h",
            StreamFormat::Dash => "d",
        };
        keys.push(("sf", Some(sf.to_owned())));
        keys.push(("sid", Some(quoted(&self.session_id))));
        if r.startup {
            keys.push(("su", None));
        }
        if let Some(tb) = r.top_kbps {
            keys.push(("tb", Some(tb.to_string())));
        }
        keys.into_iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `url` with the `CMCD` query parameter for `r` appended.
    pub fn apply(&self, url: &Url, r: &Request) -> Url {
        let mut out = url.clone();
        out.query_pairs_mut().append_pair("CMCD", &self.value(r));
        out
    }
}

/// A CMCD string: double quotes and backslashes escaped.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmcd() -> Cmcd {
        Cmcd::new("sid-1", "ml-1", StreamFormat::Dash)
    }

    #[test]
    fn every_key_in_alphabetical_order_with_rounding() {
        let r = Request {
            object: ObjectType::Video,
            bitrate_kbps: Some(1200),
            buffer_ms: Some(21_499),
            starved: true,
            duration_ms: Some(2000),
            throughput_kbps: Some(25_049),
            startup: true,
            top_kbps: Some(1344),
        };
        assert_eq!(
            cmcd().value(&r),
            r#"bl=21400,br=1200,bs,cid="ml-1",d=2000,mtp=25000,ot=v,sf=d,sid="sid-1",su,tb=1344"#
        );
    }

    #[test]
    fn false_booleans_and_unknowns_are_left_out() {
        let v = cmcd().value(&Request::new(ObjectType::Manifest));
        assert_eq!(v, r#"cid="ml-1",ot=m,sf=d,sid="sid-1""#);
    }

    #[test]
    fn strings_are_escaped_and_the_url_keeps_its_query() {
        let c = Cmcd::new("a\"b", "c\\d", StreamFormat::Hls);
        let v = c.value(&Request::new(ObjectType::Init));
        assert!(
            v.contains(r#"cid="c\\d""#) && v.contains(r#"sid="a\"b""#),
            "{v}"
        );
        let url = Url::parse("https://edge.example/seg.m4s?token=x").expect("url");
        let out = c.apply(&url, &Request::new(ObjectType::Audio));
        assert!(
            out.as_str()
                .starts_with("https://edge.example/seg.m4s?token=x&CMCD="),
            "{out}"
        );
        let (_, value) = out
            .query_pairs()
            .find(|(k, _)| k == "CMCD")
            .expect("CMCD parameter");
        assert!(value.contains("ot=a"), "{value}");
    }
}
