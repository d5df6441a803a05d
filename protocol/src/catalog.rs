//! Catalog types of the headend API: titles, search results, similar titles.

use serde::{Deserialize, Serialize};

/// A title as a tile shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TitleSummary {
    /// Title id, e.g. `ml-2571`.
    pub id: String,
    /// Display name, e.g. `The Matrix`.
    pub name: String,
    /// Release year, when known.
    pub year: Option<u16>,
    /// Genres, e.g. `["Action", "Sci-Fi"]`.
    pub genres: Vec<String>,
    /// Poster image, a path on the headend (`/api/v1/titles/{id}/poster.png`).
    pub poster: String,
}

/// Everything the details screen shows about a title.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TitleDetails {
    /// The summary fields.
    #[serde(flatten)]
    pub summary: TitleSummary,
    /// A sentence or two about the title.
    pub synopsis: String,
    /// Free-text tags viewers gave it.
    pub tags: Vec<String>,
    /// Who is in it, in billing order (empty when the catalog has no
    /// credits for it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cast: Vec<String>,
    /// The media asset that plays it, when one is published.
    pub asset_id: Option<String>,
    /// Running time in seconds, when an asset is published.
    pub duration_s: Option<f64>,
    /// Age rating: `All`, `12` or `16` (the sample catalog derives it from
    /// genres; MovieLens has none).
    pub age_rating: String,
}

/// `GET /api/v1/search?q=...` and `GET /api/v1/titles/{id}/similar`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TitleList {
    /// Best first.
    pub results: Vec<TitleSummary>,
}

/// `GET /api/v1/home`: the rows of the home screen, in display order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Home {
    /// The rows.
    pub rows: Vec<Row>,
}

/// One home row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Stable id, e.g. `continue`, `recommended`, `genre:Comedy`; pages of
    /// a row come from `GET /api/v1/home/rows/{id}?offset=&limit=`.
    pub id: String,
    /// Heading, e.g. "Because you watched Toy Story".
    pub title: String,
    /// The tiles.
    pub items: Vec<RowItem>,
    /// Offset of the next page, if there is more.
    pub next_offset: Option<u32>,
}

/// One tile of a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowItem {
    /// The title.
    #[serde(flatten)]
    pub title: TitleSummary,
    /// How much was watched, 0..1 (Continue watching only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<f32>,
    /// Where to resume, seconds (Continue watching only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_s: Option<f64>,
}
