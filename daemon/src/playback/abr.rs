//! Adaptive bitrate: picks the next rendition from throughput and buffer.
//! Pure (no I/O, no clock of its own), so the trace simulator runs it too.
