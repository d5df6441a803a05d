//! The GStreamer side of playback: the pipeline, the CENC decryptor
//! element, decoder ranking and sinks.
//!
//! - [`ottbox_formats::cenc`]: Common Encryption sample decryption, pure
//!   (no GStreamer), in the formats crate with the other parsers;
//! - [`keyring`]: the content keys by KID, shared with the license client;
//! - [`decryptor`]: the `ottboxdecrypt` element built on the two above;
//! - [`segment_crypto`]: HLS AES-128 whole-segment decryption, pure.

pub mod decoder;
pub mod decryptor;
pub mod keyring;
pub mod pipeline;
pub mod segment_crypto;
