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

step="ottboxd owns io.ottbox.Daemon"
# No /etc/ottbox/ottboxd.toml on this box: the defaults must apply.
as ottbox "GST_REGISTRY_FORK=no GST_REGISTRY=/tmp/gst-registry.bin HOME=/var/lib/ottbox exec ottboxd >/tmp/ottboxd.log 2>&1" &
i=0
until as viewer "ottboxctl status" >/tmp/status.log 2>&1; do
    i=$((i + 1))
    [ $i -lt 300 ] || fail "$step" "ottboxctl status never answered"
    usleep 100000
done
mark ready
pass "$step"
daemon=$(pidof ottboxd)

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

echo "SMOKE RSS $(grep VmRSS /proc/"$daemon"/status | tr -s ' ' | cut -d' ' -f2)"

step="SIGTERM stops ottboxd cleanly"
kill -TERM "$daemon"
i=0
while [ -d /proc/"$daemon" ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "$step" "still running 10 s after SIGTERM"
    usleep 100000
done
grep -qi "panic" /tmp/ottboxd.log && fail "$step" "the daemon panicked"
pass "$step"

mark done
echo "SMOKE RESULT PASS"
poweroff -f
