//! The GStreamer side of playback: the pipeline, the CENC decryptor
//! element, decoder ranking and sinks.

pub mod decryptor;
