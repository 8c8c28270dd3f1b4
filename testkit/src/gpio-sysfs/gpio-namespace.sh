#!/bin/sh
# Runs a command with gpiofs mounted on /sys/class/gpio, inside the private mount namespace `unshare` made
# for this script. The machine's real /sys is never touched: the first thing done is to prove that this
# process is in a mount namespace other than the caller's (comparing with PID 1 is not enough: a guard that
# did so once mounted over the real /sys/class).
#
#   unshare -m --propagation private [-Ur] sh gpio-namespace.sh GPIOFS CHIPS CALLER_MNTNS COMMAND [ARG...]
set -eu
gpiofs=$1 chips=$2 caller_ns=$3
shift 3

here_ns=$(readlink /proc/self/ns/mnt)
if [ -z "$caller_ns" ] || [ "$here_ns" = "$caller_ns" ]; then
  echo "gpio-namespace: refusing to mount: still in the caller's mount namespace ($here_ns)" >&2
  exit 97
fi

work=$(mktemp -d)
daemon=
cleanup() {
  [ -n "$daemon" ] && kill "$daemon" 2>/dev/null
  umount -l /sys/class/gpio 2>/dev/null || true
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# /sys/class aside, a tmpfs in its place, the real class directories bound back, and an empty gpio.
mkdir "$work/class"
mount --bind /sys/class "$work/class"
mount -t tmpfs -o mode=0755 opg-sysclass /sys/class
for d in "$work"/class/*; do
  name=${d##*/}
  [ "$name" = gpio ] && continue
  mkdir "/sys/class/$name"
  mount --bind "$d" "/sys/class/$name" 2>/dev/null || rmdir "/sys/class/$name"
done
mkdir /sys/class/gpio

"$gpiofs" /sys/class/gpio -f -s -o fsname=gpiofs --chips="$chips" &
daemon=$!
i=0
until [ -e /sys/class/gpio/export ]; do
  i=$((i + 1))
  if [ $i -gt 500 ] || ! kill -0 "$daemon" 2>/dev/null; then
    echo "gpio-namespace: gpiofs did not come up on /sys/class/gpio" >&2
    exit 98
  fi
  sleep 0.01
done

status=0
"$@" || status=$?
exit $status
