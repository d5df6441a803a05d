SUMMARY = "ottbox set-top-box daemon and its command-line client"
DESCRIPTION = "ottboxd logs the viewer in, caches the catalog, streams \
               HLS/DASH from the nearest CDN edge, decrypts it and plays \
               it through GStreamer; it is driven over D-Bus \
               (io.ottbox.Daemon, MPRIS) by ottbox-ui and ottboxctl."

require ottbox.inc

# Linked by gstreamer-rs (gstreamer, gstreamer-base, gstreamer-app,
# gstreamer-video). The D-Bus side is zbus, pure Rust: dbus is needed at
# run time (the system bus and its policy directory), not to build.
DEPENDS += "gstreamer1.0 gstreamer1.0-plugins-base"

inherit systemd useradd

CARGO_SRC_DIR = "daemon"
# Only the box's programs: the package's other binary, ottbox-abr-sim, is a
# development tool.
CARGO_BUILD_FLAGS:append = " --bin ottboxd --bin ottboxctl"

do_install:append() {
    # The files ottboxd is shipped with (daemon/dist): the systemd unit,
    # the D-Bus policy that lets only the ottbox user own the name and the
    # ottbox group call it, the sysusers entry, and the example config.
    install -d ${D}${systemd_system_unitdir}
    sed -e 's:/usr/bin/:${bindir}/:g' -e 's:/etc/ottbox/:${sysconfdir}/ottbox/:g' \
        ${S}/daemon/dist/ottboxd.service > ${D}${systemd_system_unitdir}/ottboxd.service
    chmod 0644 ${D}${systemd_system_unitdir}/ottboxd.service
    install -D -m 0644 ${S}/daemon/dist/io.ottbox.Daemon.conf \
        ${D}${datadir}/dbus-1/system.d/io.ottbox.Daemon.conf
    install -D -m 0644 ${S}/daemon/dist/ottbox.sysusers \
        ${D}${nonarch_libdir}/sysusers.d/ottbox.conf
    install -D -m 0644 ${S}/daemon/dist/ottboxd.toml \
        ${D}${sysconfdir}/ottbox/ottboxd.toml
}

# The example config (its headend is a placeholder) in a package of its
# own: an image installs either it or ottbox-provisioning, which writes the
# same file from the operator's variables. Without either, ottboxd runs on
# its built-in defaults.
PACKAGES =+ "${PN}-conf"

SYSTEMD_SERVICE:${PN} = "ottboxd.service"

# The user and group also exist at build time (not only once
# systemd-sysusers has run on the box), so a read-only rootfs works and
# the bus finds the users its policy names at first boot. Same name, home
# and shell as ottbox.sysusers. The group is made on its own so that
# ottbox-ui can add itself to it whichever package is installed first.
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system ottbox"
USERADD_PARAM:${PN} = "--system --gid ottbox --home-dir ${localstatedir}/lib/ottbox --no-create-home \
                       --shell ${base_sbindir}/nologin --comment 'ottbox set-top-box daemon' ottbox"

FILES:${PN} += "${datadir}/dbus-1/system.d/io.ottbox.Daemon.conf \
                ${nonarch_libdir}/sysusers.d/ottbox.conf"
FILES:${PN}-conf += "${sysconfdir}/ottbox/ottboxd.toml"
CONFFILES:${PN}-conf = "${sysconfdir}/ottbox/ottboxd.toml"

# What the pipeline makes (daemon/src/media/pipeline.rs): appsrc, qtdemux,
# h264parse / h265parse, aacparse, queue, videoconvert, audioconvert,
# audioresample, and the sinks of [player] (autovideosink / autoaudiosink
# by default). queue and fakesink are in gstreamer1.0 itself. Decoders
# (hardware first) come from packagegroup-ottbox-decoders; the decryptor
# is ottboxd's own element. ca-certificates: the HTTPS client trusts the
# platform's roots besides the operator CA.
RDEPENDS:${PN} = "\
    ca-certificates \
    dbus \
    gstreamer1.0-plugins-bad-videoparsersbad \
    gstreamer1.0-plugins-base-app \
    gstreamer1.0-plugins-base-audioconvert \
    gstreamer1.0-plugins-base-audioresample \
    gstreamer1.0-plugins-base-videoconvertscale \
    gstreamer1.0-plugins-good-audioparsers \
    gstreamer1.0-plugins-good-autodetect \
    gstreamer1.0-plugins-good-isomp4 \
"
# Sinks autovideosink / autoaudiosink can pick on a box without a
# compositor: KMS, the framebuffer, ALSA.
RRECOMMENDS:${PN} = "\
    gstreamer1.0-plugins-bad-fbdevsink \
    gstreamer1.0-plugins-bad-kms \
    gstreamer1.0-plugins-base-alsa \
"
