#!/usr/bin/env bash
# Boot test of a built image: structural checks of the Pi boot chain, then a QEMU boot that installs a
# provisioning bundle, comes online at a bridge on this machine and takes a payment (images/test/boot-test.ts).
#   images/boot-test.sh [IMAGE]      (default images/out/opg-pi-arm64.img)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
img=${1:-$here/out/opg-pi-arm64.img}
[ -f "$img" ] || { echo "no image at $img: run images/build.sh first" >&2; exit 66; }
"$here/test/check-image.sh" "$img"
cd "$here/.."
exec npx tsx --conditions=@opg/source images/test/boot-test.ts "$img"
