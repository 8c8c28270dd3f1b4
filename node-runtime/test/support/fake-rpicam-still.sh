#!/bin/sh
# Stand-in for rpicam-still on a machine without a camera: accepts rpicam-still's options (and refuses any other,
# as the real program does), then "photographs" the JPEG files in $FAKE_RPICAM_SCENES in name order, cycling.
# --output FILE writes one frame after --timeout ms; --output - writes it to stdout; with --timelapse MS the
# program keeps the camera open and writes a frame every MS until --timeout ms have passed (0: until killed).
# Arguments are appended to $FAKE_RPICAM_LOG, one run per line.
set -eu
[ -n "${FAKE_RPICAM_LOG:-}" ] && echo "$*" >> "$FAKE_RPICAM_LOG"
out=""; timeout=5000; lapse=""
while [ $# -gt 0 ]; do
  case "$1" in
    --nopreview|-n|--vflip|--hflip) ;;
    --encoding|-e)
      case "$2" in jpg|png) ;; *) echo "fake rpicam-still: encoding $2 not emulated" >&2; exit 64 ;; esac; shift ;;
    --width|--height|--quality|-q|--thumb|--shutter|--gain|--contrast|--saturation|--brightness|--awb|--awbgains|--exposure|--rotation) shift ;;
    --timeout|-t) timeout="$2"; shift ;;
    --timelapse) lapse="$2"; shift ;;
    --output|-o) out="$2"; shift ;;
    *) echo "fake rpicam-still: unrecognised option '$1'" >&2; exit 64 ;;
  esac
  shift
done
[ -n "$out" ] || { echo "fake rpicam-still: no --output" >&2; exit 64; }
secs() { awk -v ms="$1" 'BEGIN { printf "%.3f", ms / 1000 }'; }
i=0
shoot() {
  set -- "$FAKE_RPICAM_SCENES"/*.jpg
  [ -e "$1" ] || { echo "fake rpicam-still: no scene" >&2; exit 70; }
  shift $((i % $#))
  i=$((i + 1))
  if [ "$out" = "-" ]; then cat "$1"; else cp "$1" "$out"; fi
}
if [ -z "$lapse" ]; then
  sleep "$(secs "$timeout")"
  shoot
  exit 0
fi
start=$(date +%s%3N)
while [ "$timeout" = 0 ] || [ $(( $(date +%s%3N) - start )) -lt "$timeout" ]; do
  sleep "$(secs "$lapse")"
  shoot
done
