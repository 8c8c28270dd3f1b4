#!/usr/bin/env bash
# Token operations of the Java wallet per second, Bouncy Castle against the JDK's own Ed25519 in the same run.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
BCPROV="${BCPROV_JAR:-/usr/share/java/bcprov.jar}"
out="$here/build/bench"
rm -rf "$out" && mkdir -p "$out"
javac --release 11 -encoding UTF-8 -Xlint:all,-path -cp "$BCPROV" -d "$out" \
  $(find "$here/src/main/java" "$here/src/bench/java" -name '*.java')
java -cp "$out:$BCPROV" org.opg.wallet.Bench
