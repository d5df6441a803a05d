SUMMARY = "Video and audio decoders for ottboxd, hardware first"
DESCRIPTION = "ottboxd picks a hardware decoder when GStreamer has one for \
               the stream (V4L2 stateful or stateless, VA) and falls back to software. \
               This group brings the V4L2 decoders of both kinds and, unless the \
               operator empties OTTBOX_SOFTWARE_DECODERS, the libav software decoders \
               (H.264, H.265, AAC) that a board without a video engine, and qemuarm64, \
               need."
HOMEPAGE = "https://example.invalid/ottbox"
BUGTRACKER = "https://example.invalid/ottbox/issues"
SECTION = "multimedia"

inherit packagegroup

# gstreamer1.0-libav is LICENSE_FLAGS = "commercial" (H.264/AAC patents):
# it builds only with LICENSE_FLAGS_ACCEPTED += "commercial", which is the
# operator's decision. A box whose SoC decodes everything can set this to "".
OTTBOX_SOFTWARE_DECODERS ??= "gstreamer1.0-libav"

# video4linux2: stateful V4L2 m2m decoders (v4l2h264dec, Raspberry Pi,
# Amlogic, i.MX8 Hantro via its stateful driver...); v4l2codecs:
# stateless ones (Rockchip, Allwinner, i.MX8M, RPi 4 HEVC), enabled by this
# layer's gstreamer1.0-plugins-bad append.
RDEPENDS:${PN} = "\
    ${OTTBOX_SOFTWARE_DECODERS} \
    gstreamer1.0-plugins-bad-v4l2codecs \
    gstreamer1.0-plugins-good-video4linux2 \
"
