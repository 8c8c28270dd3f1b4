#!/usr/bin/env bash
# CI step for the SD-card image: build it and boot-test it, but only when something that goes into the image
# changed since the last commit that passed (the build and boot take ~20 min of CI's hour).
#
# images/PASSED holds the commit hash the image last passed at. The step runs when
#   git diff <that commit> HEAD -- images device-config node-runtime protocol package-lock.json
# is not empty (leaving out images/PASSED itself, and the tests, benchmarks and developer documents of protocol
# and node-runtime, none of which is built into the image), when PASSED is missing or names an unknown commit,
# or when OPG_IMAGE_TEST=1; OPG_IMAGE_TEST=0 skips it. On a pass it rewrites images/PASSED with HEAD: commit
# that file.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=images/PASSED
paths=(images device-config node-runtime protocol package-lock.json ':(exclude)images/PASSED'
  ':(exclude,glob)protocol/test/**' ':(exclude,glob)protocol/test-vectors/**' ':(exclude,glob)protocol/*.md'
  ':(exclude,glob)node-runtime/test/**' ':(exclude,glob)node-runtime/bench/**' ':(exclude,glob)node-runtime/*.md')

if [ "${OPG_IMAGE_TEST:-}" = 0 ]; then echo "image: skipped (OPG_IMAGE_TEST=0)"; exit 0; fi
if [ "${OPG_IMAGE_TEST:-}" != 1 ] && [ -s "$stamp" ]; then
  passed=$(tr -d '[:space:]' <"$stamp")
  if git cat-file -e "$passed^{commit}" 2>/dev/null && git diff --quiet "$passed" HEAD -- "${paths[@]}"; then
    echo "image: skipped (nothing that goes into the image changed since $passed, which passed)"
    exit 0
  fi
fi

# Host tools the build and the boot test need (CI starts from a clean machine).
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
[ -e /usr/bin/qemu-aarch64-static ] || missing+=(qemu-user-static)
command -v update-binfmts >/dev/null || missing+=(binfmt-support)
command -v qemu-system-aarch64 >/dev/null || missing+=(qemu-system-arm)
command -v mkfs.vfat >/dev/null || missing+=(dosfstools)
command -v mcopy >/dev/null || missing+=(mtools)
command -v sfdisk >/dev/null || missing+=(fdisk)
command -v jq >/dev/null || missing+=(jq)
command -v zstd >/dev/null || missing+=(zstd)
if ((${#missing[@]})); then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

img=${OPG_IMAGE_OUT:-images/out/opg-pi-arm64.img}
time images/build.sh "$img"
time images/boot-test.sh "$img"
git rev-parse HEAD >"$stamp"
echo "image: passed at $(cat "$stamp"); commit $stamp to skip this step until the image's inputs change"
