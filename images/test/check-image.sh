#!/usr/bin/env bash
# Structural checks of the Raspberry Pi boot chain, for what QEMU cannot boot (the Pi's GPU firmware reads the
# FAT partition, config.txt and cmdline.txt, then starts the arm64 kernel with a board DTB). Prints TAP.
#   images/test/check-image.sh <image>
set -euo pipefail
img=${1:?usage: check-image.sh <image>}
n=0 failed=0
ok() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=$((failed + 1)); fi; }

pt=$(sfdisk --json "$img")
ptype() { jq -r ".partitiontable.partitions[$1].type" <<<"$pt"; }
pstart() { jq -r ".partitiontable.partitions[$1].start" <<<"$pt"; }
ok "MBR (dos) partition table: the Pi firmware reads no GPT" '[ "$(jq -r .partitiontable.label <<<"$pt")" = dos ]'
ok "partition 1 is FAT32 LBA (0c) and bootable" '[ "$(ptype 0)" = c ] && [ "$(jq -r ".partitiontable.partitions[0].bootable" <<<"$pt")" = true ]'
ok "partition 2 (root) is Linux (83)" '[ "$(ptype 1)" = 83 ]'
ok "partition 3 (vault) is Linux (83)" '[ "$(ptype 2)" = 83 ]'
fat="$img@@$(($(pstart 0) * 512))"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mcopy -n -i "$fat" ::/config.txt ::/cmdline.txt "$tmp/" 2>/dev/null || true
files=$(mdir -b -i "$fat" ::/ | sed 's|^::/||')
ok "FAT label RASPIFIRM" '[ "$(mlabel -s -i "$fat" :: | sed "s/.*is //" | tr -d " ")" = RASPIFIRM ]'
ok "config.txt sets arm_64bit=1" 'grep -qx "arm_64bit=1" "$tmp/config.txt"'
ok "config.txt names a kernel and initramfs present on FAT" '
  k=$(sed -n "s/^kernel=//p" "$tmp/config.txt"); i=$(sed -n "s/^initramfs \([^ ]*\).*/\1/p" "$tmp/config.txt");
  [ -n "$k" ] && [ -n "$i" ] && grep -qx "$k" <<<"$files" && grep -qx "$i" <<<"$files"'
ok "cmdline.txt: root=LABEL=RASPIROOT on one line" '[ "$(wc -l <"$tmp/cmdline.txt")" -le 1 ] && grep -q "root=LABEL=RASPIROOT" "$tmp/cmdline.txt"'
ok "Pi GPU firmware present (start4.elf, fixup4.dat, bootcode.bin)" '(for f in start4.elf fixup4.dat bootcode.bin start.elf; do grep -qx "$f" <<<"$files" || exit 1; done)'
# Debian's kernel ships the mainline device trees, named after the package (bcm2837) rather than the die
# (bcm2710); upstream_kernel=1 tells the firmware to load those names. One DTB per supported board.
ok "config.txt sets upstream_kernel=1 (the firmware loads mainline DTB names)" 'grep -qx "upstream_kernel=1" "$tmp/config.txt"'
for dtb in bcm2837-rpi-3-b bcm2837-rpi-3-b-plus bcm2837-rpi-3-a-plus bcm2711-rpi-4-b bcm2711-rpi-400 bcm2711-rpi-cm4-io bcm2837-rpi-zero-2-w; do
  ok "DTB $dtb.dtb present" 'grep -qx "$dtb.dtb" <<<"$files"'
done
# Root and vault labels, from the ext4 superblocks at their offsets (no mount, no loop device).
label_at() { dd if="$img" bs=512 skip="$1" count=4 status=none | dd bs=1 skip=$((1024 + 120)) count=16 status=none | tr -d '\0'; }
ok "root file system label RASPIROOT" '[ "$(label_at "$(pstart 1)")" = RASPIROOT ]'
ok "vault file system label OPGDATA" '[ "$(label_at "$(pstart 2)")" = OPGDATA ]'
echo "1..$n"
[ "$failed" = 0 ]
