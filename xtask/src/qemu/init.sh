#!/bin/busybox sh
# PID 1 of the QEMU box (`cargo xtask qemu`): brings up what a box has
# (a read-only root, a RAM-backed /var/lib/ottbox, the system bus), starts
# ottboxd as its own user the way the systemd unit does, runs the smoke
# steps, and powers off. Each step prints `SMOKE PASS <step>` or
# `SMOKE FAIL <step>: <why>`; the host reads them from the serial console.

/bin/busybox --install -s /bin
export PATH=/usr/bin:/bin
export LD_LIBRARY_PATH=/usr/lib/aarch64-linux-gnu
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
# The box's writable partition; here RAM, on a box flash.
mount -t tmpfs -o mode=0700 tmpfs /var/lib/ottbox
chown ottbox:ottbox /var/lib/ottbox

mark() { echo "SMOKE MARK $1 $(cut -d' ' -f1 /proc/uptime)"; }
pass() { echo "SMOKE PASS $1"; }
fail() {
    echo "SMOKE FAIL $1: $2"
    for log in /tmp/*.log; do
        echo "--- $log"
        tail -n 20 "$log"
    done
    echo "SMOKE RESULT FAIL"
    poweroff -f
}
# as <user> <command...>: runs a command as that user (busybox su, as root
# needs no password).
as() {
    user=$1
    shift
    su -s /bin/sh "$user" -c "$*"
}

mark init
echo "SMOKE KERNEL $(uname -r) $(uname -m)"

step="no network"
ifaces=$(ls /sys/class/net | grep -v '^lo$')
[ -z "$ifaces" ] || fail "$step" "interfaces besides lo: $ifaces"
ip link set lo up || fail "$step" "cannot bring up lo"
pass "$step"

step="read-only root"
mount -o remount,ro / || fail "$step" "cannot remount / read-only"
if touch /probe 2>/dev/null; then fail "$step" "/ is writable"; fi
pass "$step"

step="dbus-daemon up"
mkdir -p /run/dbus
dbus-daemon --system --nopidfile --fork || fail "$step" "dbus-daemon did not start"
i=0
while [ ! -S /run/dbus/system_bus_socket ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "$step" "no /run/dbus/system_bus_socket"
    usleep 100000
done
pass "$step"

# start_daemon [VAR=value ...]: ottboxd as its own user, as the unit runs it.
start_daemon() {
    as ottbox "GST_REGISTRY_FORK=no GST_REGISTRY=/tmp/gst-registry.bin HOME=/var/lib/ottbox $* exec ottboxd >>/tmp/ottboxd.log 2>&1" &
    i=0
    until as viewer "ottboxctl status" >/tmp/status.log 2>&1; do
        i=$((i + 1))
        [ $i -lt 300 ] || fail "$step" "ottboxctl status never answered"
        usleep 100000
    done
    daemon=$(pidof ottboxd)
}
# stop_daemon: SIGTERM, and it must be gone within 10 s without a panic.
stop_daemon() {
    kill -TERM "$daemon"
    i=0
    while [ -d /proc/"$daemon" ]; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "$step" "still running 10 s after SIGTERM"
        usleep 100000
    done
    if grep -qi "panic" /tmp/ottboxd.log; then fail "$step" "the daemon panicked"; fi
}

step="ottboxd owns io.ottbox.Daemon"
# No /etc/ottbox/ottboxd.toml on this box: the defaults must apply.
start_daemon
mark ready
pass "$step"

step="missing config gives defaults and says so"
grep -q "using the defaults" /tmp/ottboxd.log || fail "$step" "no log line about the missing config"
pass "$step"

step="D-Bus policy refuses a stranger"
if as stranger "ottboxctl status" >/tmp/stranger.log 2>&1; then
    fail "$step" "a user outside the ottbox group could call the daemon"
fi
grep -q "AccessDenied" /tmp/stranger.log || fail "$step" "no AccessDenied: $(cat /tmp/stranger.log)"
pass "$step"

step="offline without network"
# Signing in needs the headend; with no network the box says it is offline
# (a stable error name), and keeps answering.
if as viewer "ottboxctl login" >/tmp/login.log 2>&1; then
    fail "$step" "login succeeded with no network"
fi
grep -q "^ottboxctl: offline: headend_unreachable" /tmp/login.log || fail "$step" "not an Offline error: $(cat /tmp/login.log)"
as viewer "ottboxctl status" >/tmp/status.log 2>&1 || fail "$step" "the daemon stopped answering"
pass "$step"

step="UI renders a headless frame"
as viewer "ottbox-ui --headless /tmp/shots --size 640x360 --keys right" >/tmp/ui.log 2>&1 \
    || fail "$step" "ottbox-ui failed"
frame=$(ls /tmp/shots/*.png 2>/dev/null | head -n 1)
[ -n "$frame" ] || fail "$step" "no PNG written"
[ "$(wc -c < "$frame")" -gt 1000 ] || fail "$step" "the frame is nearly empty"
pass "$step"

step="state only under /var/lib/ottbox"
[ -n "$(ls /var/lib/ottbox)" ] || fail "$step" "nothing in /var/lib/ottbox"
pass "$step"

step="SIGTERM stops ottboxd cleanly"
stop_daemon
pass "$step"

step="headend up in the guest"
mount -t tmpfs -o mode=0700 tmpfs /var/lib/ottbox-headend
cp -a /srv/headend/. /var/lib/ottbox-headend/
ottbox-headend --data-dir /var/lib/ottbox-headend --config /etc/ottbox-headend.toml serve \
    >/tmp/headend.log 2>&1 &
i=0
# It prints this once its socket is bound (and its CA written).
until grep -q "^listening on https://" /tmp/headend.log; do
    i=$((i + 1))
    [ $i -lt 1200 ] || fail "$step" "the headend never listened"
    usleep 100000
done
# The box trusts the headend's development CA, as an operator's box trusts
# the operator's (`[headend] ca_file`).
cp /var/lib/ottbox-headend/tls/ca.pem /run/operator-ca.pem
chmod 0644 /run/operator-ca.pem
mark headend
pass "$step"

step="ottboxd restarts on its saved state, now online"
start_daemon OTTBOX_HEADEND_URL=https://localhost:8443 OTTBOX_HEADEND_CA_FILE=/run/operator-ca.pem \
    OTTBOX_PLAYER_VIDEO_SINK="'fakesink sync=true'" OTTBOX_PLAYER_AUDIO_SINK="'fakesink sync=true'" \
    OTTBOX_PLAYER_DISPLAY_WIDTH=256 OTTBOX_PLAYER_DISPLAY_HEIGHT=144
pass "$step"

step="device login against the in-guest headend"
as viewer "ottboxctl --json login --timeout 120" >/tmp/login.json 2>/tmp/login.log &
login=$!
i=0
until grep -q user_code /tmp/login.json 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 300 ] || fail "$step" "no user code: $(cat /tmp/login.log)"
    usleep 100000
done
code=$(sed -n 's/.*"user_code": *"\([^"]*\)".*/\1/p' /tmp/login.json | head -n 1)
echo "SMOKE INFO the TV shows user code $code"
# The viewer reads the code out to customer care, who approve it (the web
# page's form posts are tested on the host; busybox's wget, the only
# browser here, cannot speak TLS with rustls).
ottbox-headend --data-dir /var/lib/ottbox-headend --config /etc/ottbox-headend.toml \
    device approve "$code" --account viewer >/tmp/approve.log 2>&1 \
    || fail "$step" "approving the code failed: $(cat /tmp/approve.log)"
wait $login || fail "$step" "the box was not signed in: $(cat /tmp/login.log)"
as viewer "ottboxctl status" | grep -q "login logged_in" || fail "$step" "status does not say logged_in"
pass "$step"

step="home rows from the headend"
as viewer "ottboxctl home" >/tmp/home.log 2>&1 || fail "$step" "ottboxctl home failed"
rows=$(grep -c -v '^ ' /tmp/home.log)
[ "$rows" -ge 3 ] || fail "$step" "only $rows rows"
pass "$step"

step="an encrypted title plays to the end, frames decoded"
id=$(as viewer "ottboxctl search 'soc netw'" | head -n 1 | awk '{print $1}')
[ -n "$id" ] || fail "$step" "search found nothing"
as viewer "ottboxctl --json play $id --from 0 --wait 240" >/tmp/play.json 2>/tmp/play.log \
    || fail "$step" "play failed: $(cat /tmp/play.log)"
echo "SMOKE INFO $(cat /tmp/play.json)"
grep -q '"state": *"ended"' /tmp/play.json || fail "$step" "did not end"
first=$(sed -n 's/.*"time_to_first_frame_ms": *\([0-9.]*\).*/\1/p' /tmp/play.json)
[ -n "$first" ] || fail "$step" "no first frame reported"
echo "SMOKE TTFF $first"
pass "$step"

echo "SMOKE RSS $(grep VmRSS /proc/"$daemon"/status | tr -s ' ' | cut -d' ' -f2)"

step="SIGTERM stops ottboxd cleanly after playing"
stop_daemon
pass "$step"

mark done
echo "SMOKE RESULT PASS"
poweroff -f
