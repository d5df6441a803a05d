//! Recommendations from viewing history.
//!
//! The model is item-to-item collaborative filtering on implicit feedback
//! ("watched" = an interaction, whatever the rating): two titles are similar
//! when the same viewers watch both (cosine over viewer sets, each title
//! keeping its K nearest neighbours). A viewer's candidates are scored by
//! their summed similarity to what the viewer watched. Titles already
//! watched are never recommended; a viewer with no history gets popularity.
//!
//! [`eval`] measures it offline with the protocol of
//! `shared/reco/ABOUT.md` (temporal 80/20 split per viewer, recall@10 and
//! nDCG@10), beside a popularity baseline in the same run.

pub mod data;
pub mod eval;
pub mod itemknn;
pub mod service;

pub use data::{Interaction, Interactions};
pub use itemknn::{ItemKnn, Params};
