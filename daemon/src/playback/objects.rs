//! Answers held in memory by URL and byte range: what predictive prefetch
//! fetched ahead for a title, served to its playback by the router in
//! place of a request (see [`warm`](super::warm) and
//! [`route`](super::route)).

use std::collections::HashMap;
use std::sync::Arc;

use ottbox_formats::manifest::ByteRange;
use url::Url;

/// Downloaded bodies by URL and range.
#[derive(Debug, Default, Clone)]
pub struct Objects {
    bodies: HashMap<(String, Option<ByteRange>), Arc<[u8]>>,
    bytes: usize,
}

impl Objects {
    /// The body of `url` (`range` of it), if held.
    pub fn get(&self, url: &Url, range: Option<ByteRange>) -> Option<Arc<[u8]>> {
        self.bodies.get(&(url.to_string(), range)).cloned()
    }

    /// Keeps `body` as the answer for `url` and `range`.
    pub fn insert(&mut self, url: &Url, range: Option<ByteRange>, body: &[u8]) {
        let old = self
            .bodies
            .insert((url.to_string(), range), Arc::from(body));
        self.bytes = self.bytes + body.len() - old.map_or(0, |o| o.len());
    }

    /// How many bodies.
    pub fn len(&self) -> usize {
        self.bodies.len()
    }

    /// None held.
    pub fn is_empty(&self) -> bool {
        self.bodies.is_empty()
    }

    /// Their total size.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}
