#!/usr/bin/env bash
# The whole `npm test` with the world's clock moved ahead (default one year): proves no test depends on today's date.
#
# libfaketime (Debian's `faketime`) is preloaded into every process the tests start — Node, opg-node, mosquitto,
# PGlite inside Node — and a scratch PostgreSQL cluster is started under the same offset on a free port, so the
# database's now() moves with everything else. Monotonic clocks are left alone (timers and timeouts stay real).
#
#   npm run test:future                     # one year ahead
#   OPG_FUTURE_OFFSET=+800d npm run test:future
#   npm run test:future -- -w node-runtime  # extra arguments go to `npm test`
set -euo pipefail
cd "$(dirname "$0")/.."

offset="${OPG_FUTURE_OFFSET:-+365d}"
lib=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1 || true)
if [[ -z "$lib" ]]; then
  echo "test:future needs libfaketime: apt-get install faketime" >&2
  exit 2
fi
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [[ -z "$pgbin" ]]; then
  echo "test:future needs the PostgreSQL server binaries: apt-get install postgresql" >&2
  exit 2
fi

fake=(env "LD_PRELOAD=$lib" "FAKETIME=$offset" DONT_FAKE_MONOTONIC=1 FAKETIME_DONT_RESET=1)

# A scratch PostgreSQL cluster living in the future too (trust auth, loopback, a free port).
work=$(mktemp -d /tmp/opg-future.XXXXXX)
chmod 755 "$work"
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
  chown postgres "$work"
  as_pg=(runuser -u postgres --)
fi
cleanup() {
  "${as_pg[@]}" "${fake[@]}" "$pgbin/pg_ctl" -D "$work/db" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"${as_pg[@]}" "$pgbin/initdb" -D "$work/db" -U postgres --auth=trust >/dev/null
"${as_pg[@]}" "${fake[@]}" "$pgbin/pg_ctl" -D "$work/db" -l "$work/pg.log" -w \
  -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null

echo "test:future: clock ${offset} ($("${fake[@]}" date -u +%Y-%m-%dT%H:%MZ)), PostgreSQL on 127.0.0.1:$port"
export OPG_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
"${fake[@]}" npm test "$@"
