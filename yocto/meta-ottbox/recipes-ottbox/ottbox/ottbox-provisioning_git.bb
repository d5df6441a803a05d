SUMMARY = "ottbox operator provisioning: /etc/ottbox/ottboxd.toml"
DESCRIPTION = "Writes ottboxd's config file from daemon/dist/ottboxd.toml \
               and the operator's OTTBOX_* variables (local.conf or a kas fragment), and \
               installs the operator's CA certificate it names."

require ottbox-source.inc

inherit allarch

# Generated files go here, not into the git checkout.
B = "${WORKDIR}/build"

# Set these in local.conf or a kas fragment (see yocto/README.md). Each one
# left empty keeps what daemon/dist/ottboxd.toml says (or, for keys it does
# not set, ottboxd's built-in default).
#   [headend] url: where the box signs in, browses and fetches licenses.
OTTBOX_HEADEND_URL ??= ""
#   A PEM file on the build host: installed as ${OTTBOX_CA_DEST} and named
#   by [headend] ca_file, trusted besides the platform's roots.
OTTBOX_OPERATOR_CA ??= ""
#   [headend] client_id: the OAuth client id the box presents.
OTTBOX_CLIENT_ID ??= ""
#   [player] video_sink / audio_sink: GStreamer element descriptions
#   (e.g. "kmssink", "alsasink"); empty: autovideosink / autoaudiosink.
OTTBOX_VIDEO_SINK ??= ""
OTTBOX_AUDIO_SINK ??= ""
#   Not read by ottboxd or ottbox-ui today (neither has a branding key);
#   accepted so that operators' fragments parse, and warned about when set.
OTTBOX_BRANDING ??= ""

OTTBOX_CA_DEST = "${sysconfdir}/ottbox/operator-ca.pem"

# A change of the CA file's content must rebuild the package.
do_configure[file-checksums] += "${@'%s:True' % d.getVar('OTTBOX_OPERATOR_CA') if d.getVar('OTTBOX_OPERATOR_CA') else ''}"
do_configure[vardeps] += "OTTBOX_HEADEND_URL OTTBOX_OPERATOR_CA OTTBOX_CLIENT_ID \
                          OTTBOX_VIDEO_SINK OTTBOX_AUDIO_SINK OTTBOX_BRANDING"

python do_configure() {
    import json
    import os

    def toml_string(value):
        # A JSON string is a valid TOML basic string (same escapes).
        return json.dumps(value)

    def set_key(lines, section, key, value):
        # Replace `key = ...` (or a commented-out `# key = ...`) inside
        # [section] of the dist file; add the key (and the section) when the
        # file does not have it. Only keys ottboxd's config.rs reads are set.
        current = None
        insert_at = None
        for i, line in enumerate(lines):
            stripped = line.strip()
            if stripped.startswith('['):
                if current == section:
                    break
                current = stripped.strip('[]').strip()
                if current == section:
                    insert_at = i + 1
                continue
            if current != section:
                continue
            bare = stripped.lstrip('#').strip()
            if bare.split('=')[0].strip() == key and '=' in bare:
                lines[i] = '%s = %s' % (key, value)
                return
            insert_at = i + 1
        if insert_at is None:
            lines.extend(['', '[%s]' % section, '%s = %s' % (key, value)])
        else:
            lines.insert(insert_at, '%s = %s' % (key, value))

    dist = os.path.join(d.getVar('S'), 'daemon', 'dist', 'ottboxd.toml')
    with open(dist) as f:
        lines = f.read().splitlines()

    lines[0:0] = ['# Written by the ottbox-provisioning recipe from daemon/dist/ottboxd.toml',
                  '# and the operator\'s OTTBOX_* variables.']

    url = d.getVar('OTTBOX_HEADEND_URL')
    if url:
        if not url.startswith('https://') and not url.startswith('http://'):
            bb.fatal('OTTBOX_HEADEND_URL must be an http(s) URL, not %r' % url)
        set_key(lines, 'headend', 'url', toml_string(url))
    else:
        bb.warn('OTTBOX_HEADEND_URL is not set: the box keeps the placeholder headend of daemon/dist/ottboxd.toml')

    b = d.getVar('B')
    bb.utils.mkdirhier(b)
    ca_copy = os.path.join(b, 'operator-ca.pem')
    if os.path.exists(ca_copy):
        os.remove(ca_copy)
    ca = d.getVar('OTTBOX_OPERATOR_CA')
    if ca:
        if not os.path.isabs(ca) or not os.path.isfile(ca):
            bb.fatal('OTTBOX_OPERATOR_CA must be the absolute path of a PEM file, not %r' % ca)
        with open(ca) as f:
            pem = f.read()
        if '-----BEGIN CERTIFICATE-----' not in pem:
            bb.fatal('%s holds no PEM certificate' % ca)
        if 'PRIVATE KEY' in pem:
            bb.fatal('%s holds a private key: give only the CA certificate' % ca)
        with open(ca_copy, 'w') as f:
            f.write(pem)
        set_key(lines, 'headend', 'ca_file', toml_string(d.getVar('OTTBOX_CA_DEST')))

    for var, section, key in [('OTTBOX_CLIENT_ID', 'headend', 'client_id'),
                              ('OTTBOX_VIDEO_SINK', 'player', 'video_sink'),
                              ('OTTBOX_AUDIO_SINK', 'player', 'audio_sink')]:
        value = d.getVar(var)
        if value:
            set_key(lines, section, key, toml_string(value))

    if d.getVar('OTTBOX_BRANDING'):
        bb.warn('OTTBOX_BRANDING is set but neither ottboxd nor ottbox-ui reads a branding name yet; it is ignored')

    with open(os.path.join(b, 'ottboxd.toml'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
}

do_compile[noexec] = "1"

do_install() {
    install -D -m 0644 ${B}/ottboxd.toml ${D}${sysconfdir}/ottbox/ottboxd.toml
    if [ -f ${B}/operator-ca.pem ]; then
        install -m 0644 ${B}/operator-ca.pem ${D}${OTTBOX_CA_DEST}
    fi
}

FILES:${PN} += "${sysconfdir}/ottbox"
CONFFILES:${PN} = "${sysconfdir}/ottbox/ottboxd.toml"
# The same file as ottboxd's example config: one or the other.
RCONFLICTS:${PN} = "ottboxd-conf"
