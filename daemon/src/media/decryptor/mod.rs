//! `ottboxdecrypt`: a GStreamer element (klass "Decryptor") that decrypts
//! Common Encryption (`cenc`, `cbcs`) samples in place.
