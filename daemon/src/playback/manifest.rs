//! HLS and DASH manifests into one model of periods, tracks, renditions and
//! segments.
