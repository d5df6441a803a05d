SUMMARY = "ottbox reference headend (optional)"
DESCRIPTION = "The ottbox reference backend: accounts, device login, \
               catalog, search, recommendations, licenses, ads and the origin, for a lab \
               or a demo box. Not part of ottbox-image. Ingest also needs ffmpeg and \
               Shaka Packager, which are not packaged here: point [tools] (or \
               OTTBOX_FFMPEG / OTTBOX_PACKAGER) at them."

require ottbox.inc

# SQLite is bundled (rusqlite), TLS is rustls with ring: no library to
# depend on beyond the C compiler cargo's build scripts use.
CARGO_SRC_DIR = "headend"

RDEPENDS:${PN} = "ca-certificates"
