#!/usr/bin/env bash
# The Java suite without Gradle or Maven Central: javac (Java 11 language level) + Debian's JUnit 5 console
# launcher + Debian's Bouncy Castle. Prints the JUnit summary (test counts); exits non-zero on any failure.
# OPG_JAVA_SKIP_SYSTEM=1 leaves out the real-system tests (they start the bridge and a box through Node).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
JUNIT="${JUNIT_JAR:-/usr/share/java/junit-platform-console-standalone.jar}"
BCPROV="${BCPROV_JAR:-/usr/share/java/bcprov.jar}"
for f in "$JUNIT" "$BCPROV"; do
  [ -f "$f" ] || { echo "wallet-android: missing $f (apt-get install junit5 libbcprov-java)" >&2; exit 1; }
done
command -v javac >/dev/null || { echo "wallet-android: javac missing (apt-get install openjdk-17-jdk-headless)" >&2; exit 1; }

out="$here/build"
rm -rf "$out/main" "$out/test"
mkdir -p "$out/main" "$out/test"
# -Xlint:-path: Debian's bcprov.jar names optional jars in its manifest Class-Path that are not installed.
javac --release 11 -encoding UTF-8 -Xlint:all,-path -Werror -cp "$BCPROV" -d "$out/main" \
  $(find "$here/src/main/java" -name '*.java')
javac --release 11 -encoding UTF-8 -Xlint:all,-path -cp "$BCPROV:$JUNIT:$out/main" -d "$out/test" \
  $(find "$here/src/test/java" -name '*.java')

# Extra arguments select tests (e.g. --select-class org.opg.wallet.WalletTest); none runs everything.
args=()
if [ "$#" -eq 0 ]; then args+=(--scan-class-path "$out/test"); fi
if [ "${OPG_JAVA_SKIP_SYSTEM:-}" = "1" ]; then args+=(--exclude-tag system); fi
java -Dopg.root="$root" -Dopg.walletAndroid="$here" -jar "$JUNIT" \
  --class-path "$out/main:$out/test:$BCPROV" \
  --disable-banner --details=summary --fail-if-no-tests "${args[@]}" "$@"
