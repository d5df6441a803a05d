//! Catalog types of the headend API: titles, search results, similar titles.

use serde::{Deserialize, Serialize};

/// A title as a tile shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TitleSummary {
    /// Title id, e.g. `ml-2571`.
    pub id: String,
    /// Display name, e.g. `Matrix, The`.
    pub name: String,
    /// Release year, when known.
    pub year: Option<u16>,
    /// Genres, e.g. `["Action", "Sci-Fi"]`.
    pub genres: Vec<String>,
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
    /// The media asset that plays it, when one is published.
    pub asset_id: Option<String>,
    /// Running time in seconds, when an asset is published.
    pub duration_s: Option<f64>,
}

/// `GET /api/v1/search?q=...` and `GET /api/v1/titles/{id}/similar`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TitleList {
    /// Best first.
    pub results: Vec<TitleSummary>,
}
