# kmssink: ottboxd's video sink on a box that drives its display with KMS.
# v4l2codecs: the stateless V4L2 hardware decoders that
# packagegroup-ottbox-decoders installs. Neither is on in oe-core's default.
# Only in the ottbox distro, so that adding the layer changes nothing for
# other distros (Yocto layer compliance); another distro appends the same.
PACKAGECONFIG:append:ottbox = " kms v4l2codecs"
