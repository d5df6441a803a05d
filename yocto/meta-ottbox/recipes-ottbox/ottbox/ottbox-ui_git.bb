SUMMARY = "ottbox on-screen UI"
DESCRIPTION = "The ottbox set-top-box UI: embedded-graphics on the Linux \
               framebuffer, remote-control input through evdev, and D-Bus to ottboxd."

require ottbox.inc

SRC_URI:append = " file://ottbox-ui.service"

inherit systemd useradd

# Default features only: the SDL2 simulator is for desktops.
CARGO_SRC_DIR = "ui"

do_install:append() {
    install -d ${D}${systemd_system_unitdir}
    sed -e 's:@BINDIR@:${bindir}:g' ${WORKDIR}/ottbox-ui.service \
        > ${D}${systemd_system_unitdir}/ottbox-ui.service
    chmod 0644 ${D}${systemd_system_unitdir}/ottbox-ui.service
}

SYSTEMD_SERVICE:${PN} = "ottbox-ui.service"

# Its own user, in the ottbox group (the D-Bus policy's callers): the group
# is made here too, as in ottboxd, whichever package is installed first.
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system ottbox"
USERADD_PARAM:${PN} = "--system --gid ottbox --groups video,input --no-create-home \
                       --home-dir /nonexistent --shell ${base_sbindir}/nologin \
                       --comment 'ottbox on-screen UI' ottbox-ui"

# The daemon it draws for; dbus for the system bus.
RDEPENDS:${PN} = "dbus ottboxd"
