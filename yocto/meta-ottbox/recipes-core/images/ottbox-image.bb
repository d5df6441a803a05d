# nooelint: oelint.var.suggestedvar.CVE_PRODUCT
# (an image is no product in the CVE database: cve-check reports on the
# recipes it installs, which name theirs)
SUMMARY = "ottbox set-top-box image"
DESCRIPTION = "A console image that boots into ottboxd and ottbox-ui: the \
               daemon, the UI on the framebuffer, the operator's provisioning, GStreamer \
               with the box's decoders. Build it with the ottbox distro (systemd as init), \
               as yocto/kas/*.yml do."
HOMEPAGE = "https://example.invalid/ottbox"
BUGTRACKER = "https://example.invalid/ottbox/issues"
SECTION = "images"
LICENSE = "MIT"

inherit core-image

# GStreamer beyond what ottboxd pulls in itself (its RDEPENDS name exactly
# the elements it makes): the good and bad plugin sets, for operators'
# diagnostics and sinks. A lean image sets OTTBOX_IMAGE_GSTREAMER = "".
OTTBOX_IMAGE_GSTREAMER ??= "gstreamer1.0-plugins-good-meta gstreamer1.0-plugins-bad-meta"

IMAGE_INSTALL:append = " \
    ottboxd \
    ottbox-ui \
    ottbox-provisioning \
    packagegroup-ottbox-decoders \
    ${OTTBOX_IMAGE_GSTREAMER} \
"

# ottboxd.service, ottbox.sysusers and the StateDirectory need systemd as
# init: the ottbox distro has it (INIT_MANAGER = "systemd"); with another
# distro the image is skipped, saying so, unless it has it too.
inherit features_check
REQUIRED_DISTRO_FEATURES = "systemd"
