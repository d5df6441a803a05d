//! The QEMU box's image: a Debian arm64 kernel and an initramfs holding
//! busybox, the real dbus-daemon with Debian's system-bus config and our
//! D-Bus policy, the GStreamer runtime, and the cross-built box binaries.
//!
//! Everything comes from Debian arm64 packages fetched with
//! `apt-get download` and unpacked into a pool (nothing is installed on
//! the host). Only what the box runs goes into the image: each binary's
//! `NEEDED` libraries are resolved in the pool, transitively, so a library
//! that is missing fails the build here, by name, not the boot.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::cross::{BOX_BINARIES, HEADEND_BINARY, download};
use crate::util::{output, run as run_cmd, target_dir};

/// The guest's PID 1: the smoke scenario.
const INIT: &str = include_str!("init.sh");

/// The guest's users: the bus's, the daemon's (as in `ottbox.sysusers`),
/// a viewer in the `ottbox` group (the UI's side), and a stranger who is
/// not and must be refused by the D-Bus policy.
const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh
messagebus:x:100:101::/nonexistent:/bin/false
ottbox:x:101:102::/var/lib/ottbox:/bin/false
viewer:x:1000:1000::/tmp:/bin/sh
stranger:x:1001:1001::/tmp:/bin/sh
";
const GROUP: &str = "root:x:0:
messagebus:x:101:
ottbox:x:102:viewer
viewer:x:1000:
stranger:x:1001:
";

/// The in-guest headend: HTTPS on loopback with its development CA, which
/// the box is told to trust; no edges, so the origin serves the media.
const HEADEND_CONFIG: &str = "listen = \"127.0.0.1:8443\"
public_url = \"https://localhost:8443\"

[tls]
enabled = true
names = [\"localhost\"]

[auth]
poll_interval_s = 1
";

/// The multiarch library directory of arm64.
const LIBDIR: &str = "usr/lib/aarch64-linux-gnu";

/// The arm64 packages the image is made from. Libraries are listed because
/// a binary needs them; only those actually needed are copied in.
const PACKAGES: &[&str] = &[
    "busybox-static",
    "dbus-daemon",
    "dbus-system-bus-common",
    "libc6",
    "libgcc-s1",
    // dbus-daemon's.
    "libdbus-1-3",
    "libexpat1",
    "libsystemd0",
    "libapparmor1",
    "libaudit1",
    "libcap-ng0",
    "libcap2",
    "libselinux1",
    "libpcre2-8-0",
    "libgcrypt20",
    "libgpg-error0",
    "liblz4-1",
    "liblzma5",
    "libzstd1",
    // GStreamer's.
    "libgstreamer1.0-0",
    "libgstreamer-plugins-base1.0-0",
    "libglib2.0-0",
    "libffi8",
    "libmount1",
    "libblkid1",
    "zlib1g",
    "libunwind8",
    "libdw1",
    "libelf1",
    "libbz2-1.0",
    "liborc-0.4-0",
    // The playback pipeline's plugins and theirs.
    "gstreamer1.0-plugins-base",
    "gstreamer1.0-plugins-good",
    "gstreamer1.0-plugins-bad",
    "libgstreamer-plugins-bad1.0-0",
    "libopenh264-7",
    "libfaad2",
    "libstdc++6",
];

/// The packages of [`PACKAGES`] that are architecture-independent (apt
/// refuses them with an `:arm64` qualifier).
const ARCH_ALL: &[&str] = &["dbus-system-bus-common"];

/// GStreamer plugins the guest loads (files under `<LIBDIR>/gstreamer-1.0`):
/// what the playback pipeline (`daemon/src/media/pipeline.rs`) is made of,
/// with software decoders standing in for a box's hardware ones (openh264
/// for H.264, faad for AAC).
const PLUGINS: &[&str] = &[
    "libgstcoreelements.so",
    "libgstapp.so",
    "libgsttypefindfunctions.so",
    "libgstisomp4.so",
    "libgstvideoparsersbad.so",
    "libgstaudioparsers.so",
    "libgstopenh264.so",
    "libgstfaad.so",
    "libgstvideoconvertscale.so",
    "libgstaudioconvert.so",
    "libgstaudioresample.so",
];

/// The kernel and initramfs to boot.
pub struct Image {
    /// The arm64 kernel (`vmlinuz`).
    pub kernel: PathBuf,
    /// The uncompressed `newc` cpio (no decompression under emulation).
    pub initrd: PathBuf,
}

/// Builds the image from the arm64 binaries in `bins` and the headend data
/// directory `headend_data` (served read-only from `/srv/headend`).
pub fn build(bins: &Path, headend_data: &Path) -> anyhow::Result<Image> {
    let base = target_dir().join("qemu");
    let debs = base.join("debs");
    let pool = base.join("pool");
    std::fs::create_dir_all(&debs)?;
    let kernel = kernel(&debs, &base)?;
    unpack_pool(&debs, &pool)?;

    let root = base.join("rootfs");
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    for dir in [
        "bin",
        "lib",
        LIBDIR,
        "usr/bin",
        "etc/ottbox",
        "proc",
        "sys",
        "dev",
        "run",
        "tmp",
        "var/lib/ottbox",
        "var/lib/ottbox-headend",
        "srv",
        "root",
    ] {
        std::fs::create_dir_all(root.join(dir))?;
    }
    // Clients find the system bus at /var/run/dbus/system_bus_socket.
    std::os::unix::fs::symlink("../run", root.join("var/run"))?;
    let mut elfs = vec![
        copy(&pool.join("bin/busybox"), &root.join("bin/busybox"))?,
        copy(
            &pool.join("usr/bin/dbus-daemon"),
            &root.join("usr/bin/dbus-daemon"),
        )?,
    ];
    for (_, bin) in BOX_BINARIES.iter().chain([&HEADEND_BINARY]) {
        elfs.push(copy(&bins.join(bin), &root.join("usr/bin").join(bin))?);
    }
    let plugins = root.join(LIBDIR).join("gstreamer-1.0");
    std::fs::create_dir_all(&plugins)?;
    for plugin in PLUGINS {
        let from = pool.join(LIBDIR).join("gstreamer-1.0").join(plugin);
        elfs.push(copy(&from, &plugins.join(plugin))?);
    }
    copy_libraries(&elfs, &pool, &root)?;
    // The dynamic loader, where every binary's interpreter path says
    // (bookworm's libc6 is not yet merged-/usr).
    copy(
        &pool.join("lib/ld-linux-aarch64.so.1"),
        &root.join("lib/ld-linux-aarch64.so.1"),
    )?;

    // Debian's system bus config (it includes system.d) and our policy.
    let share = root.join("usr/share/dbus-1");
    std::fs::create_dir_all(share.join("system.d"))?;
    copy(
        &pool.join("usr/share/dbus-1/system.conf"),
        &share.join("system.conf"),
    )?;
    copy(
        &crate::util::root().join("daemon/dist/io.ottbox.Daemon.conf"),
        &share.join("system.d/io.ottbox.Daemon.conf"),
    )?;
    run_cmd(
        Command::new("cp")
            .arg("-a")
            .arg(headend_data)
            .arg(root.join("srv/headend")),
    )?;
    std::fs::write(root.join("etc/ottbox-headend.toml"), HEADEND_CONFIG)?;
    std::fs::write(root.join("etc/hosts"), "127.0.0.1 localhost\n")?;
    std::fs::write(
        root.join("etc/nsswitch.conf"),
        "passwd: files\ngroup: files\nhosts: files\n",
    )?;
    std::fs::write(root.join("etc/passwd"), PASSWD)?;
    std::fs::write(root.join("etc/group"), GROUP)?;
    std::fs::write(
        root.join("etc/machine-id"),
        "0ca7b0c5e11e4a1f9a0b0c0d0e0f0a0b\n",
    )?;
    let init = root.join("init");
    std::fs::write(&init, INIT)?;
    chmod(&init, 0o755)?;

    let initrd = base.join("initrd.cpio");
    cpio(&root, &initrd)?;
    let size = std::fs::metadata(&initrd)?.len();
    println!(
        "qemu: image {} ({:.1} MB)",
        initrd.display(),
        size as f64 / 1e6
    );
    Ok(Image { kernel, initrd })
}

/// Debian's cloud arm64 kernel (virtio and PL011 built in, no modules
/// needed for an initramfs boot), unpacked once.
fn kernel(debs: &Path, base: &Path) -> anyhow::Result<PathBuf> {
    let kernel = base.join("vmlinuz");
    if kernel.exists() {
        return Ok(kernel);
    }
    // The meta package names the current versioned image.
    let depends =
        output(Command::new("apt-cache").args(["depends", "linux-image-cloud-arm64:arm64"]))?;
    let Some(image) = depends
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| p.starts_with("linux-image-"))
    else {
        bail!("apt-cache knows no linux-image-cloud-arm64:arm64 (is arm64 added?)");
    };
    let deb = download(image, debs)?;
    let unpacked = base.join("kernel");
    run_cmd(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked))?;
    let boot = unpacked.join("boot");
    let found = std::fs::read_dir(&boot)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        });
    let Some(found) = found else {
        bail!("no vmlinuz in {}", deb.display());
    };
    std::fs::rename(found, &kernel)?;
    std::fs::remove_dir_all(&unpacked)?;
    Ok(kernel)
}

/// Downloads [`PACKAGES`] and unpacks them all into `pool`, once.
fn unpack_pool(debs: &Path, pool: &Path) -> anyhow::Result<()> {
    let done = pool.join(".unpacked");
    let wanted = PACKAGES.join(" ");
    if std::fs::read_to_string(&done).is_ok_and(|have| have == wanted) {
        return Ok(());
    }
    for package in PACKAGES {
        let name = if ARCH_ALL.contains(package) {
            package.to_string()
        } else {
            format!("{package}:arm64")
        };
        let deb = download(&name, debs)?;
        run_cmd(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(pool))?;
    }
    std::fs::write(done, wanted)?;
    Ok(())
}

/// Copies the libraries `elfs` need, transitively, from the pool into the
/// image's multiarch directory.
fn copy_libraries(elfs: &[PathBuf], pool: &Path, root: &Path) -> anyhow::Result<()> {
    let search = [pool.join(LIBDIR), pool.join("lib/aarch64-linux-gnu")];
    let mut todo: Vec<PathBuf> = elfs.to_vec();
    let mut seen = BTreeSet::new();
    while let Some(elf) = todo.pop() {
        for lib in needed(&elf)? {
            if !seen.insert(lib.clone()) {
                continue;
            }
            let Some(from) = search.iter().map(|d| d.join(&lib)).find(|p| p.exists()) else {
                bail!(
                    "{} needs {lib}, which no package in the image's list has: add it to PACKAGES",
                    elf.display()
                );
            };
            todo.push(copy(&from, &root.join(LIBDIR).join(&lib))?);
        }
    }
    println!("qemu: {} shared libraries", seen.len());
    Ok(())
}

/// The `NEEDED` entries of an ELF file's dynamic section.
fn needed(elf: &Path) -> anyhow::Result<Vec<String>> {
    let dynamic = output(Command::new("readelf").args(["-d", "--wide"]).arg(elf))?;
    Ok(dynamic
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split_once('[')?.1.split_once(']')?.0.to_owned()))
        .collect())
}

/// Copies a file (following links); returns the destination.
fn copy(from: &Path, to: &Path) -> anyhow::Result<PathBuf> {
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(to.to_owned())
}

fn chmod(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Packs `root` as a `newc` cpio, every file owned by root.
fn cpio(root: &Path, out: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::create(out)?;
    let status = Command::new("sh")
        .arg("-c")
        .arg("find . -print0 | LC_ALL=C sort -z | cpio --null --create --format=newc --owner=0:0 --quiet")
        .current_dir(root)
        .stdout(file)
        .status()
        .context("cannot run cpio")?;
    if !status.success() {
        bail!("cpio failed ({status})");
    }
    Ok(())
}
