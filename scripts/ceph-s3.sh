#!/usr/bin/env bash
# A one-node Ceph cluster with the RADOS Gateway on 127.0.0.1:7480: a real S3 endpoint with
# Object Lock, for the S3 archive target's tests and benchmark. Throwaway: the OSD keeps its
# objects in memory (memstore) and authentication is off. It installs nothing: it needs the
# Debian packages radosgw, ceph-mon and ceph-osd (.ci/run installs them).
#
#   scripts/ceph-s3.sh start    start the cluster unless it runs (idempotent, serialised by a lock)
#   scripts/ceph-s3.sh stop     stop every daemon and remove the data folder
#   scripts/ceph-s3.sh status   exit 0 when the gateway answers, 1 otherwise
#   scripts/ceph-s3.sh env      print the AWS_* variables and endpoint that reach it
#
# The ports are Ceph's fixed ones (monitor 3300 and 6789, gateway 7480), so one cluster runs per
# machine; its folder is $EVIDENT_CEPH_DIR (default ${TMPDIR:-/tmp}/evident-ceph-s3).
set -euo pipefail

DIR="${EVIDENT_CEPH_DIR:-${TMPDIR:-/tmp}/evident-ceph-s3}"
CONF="$DIR/ceph.conf"
ENDPOINT="http://127.0.0.1:7480"
ACCESS_KEY="evident-test"
SECRET_KEY="evident-test-secret"
export CEPH_CONF="$CONF"

say() { echo "ceph-s3: $*" >&2; }

gateway_up() {
  # Any HTTP answer from the gateway (403 to an anonymous request included) means it serves.
  local code
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$ENDPOINT/" 2>/dev/null || true)
  [ -n "$code" ] && [ "$code" != "000" ]
}

# A pid file's process is alive and is one of this cluster's daemons (not a reused pid).
pid_alive() {
  [ -f "$1" ] || return 1
  local pid
  pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$CONF"
}

write_conf() {
  local fsid
  fsid=$(uuidgen)
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:3300,v1:127.0.0.1:6789
mon initial members = a
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
# Without this a client of an auth-less monitor waits 300 s for a mode the monitor never offers.
ms mon client mode = crc secure
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon max pg per osd = 1000
mon allow pool delete = true
mon warn on pool no redundancy = false
# A one-monitor cluster has no quorum to batch for: propose map changes at once (the default
# waits up to 1 s per change, and the gateway's first start makes dozens of them).
paxos propose interval = 0.01
paxos min wait = 0.001
osd pool default pg autoscale mode = off
osd objectstore = memstore
memstore device bytes = 2147483648
osd memory target = 939524096
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
mon data = $DIR/mon/\$cluster-\$id
osd data = $DIR/osd/\$cluster-\$id
keyring = $DIR/keyring

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:7480
rgw data = $DIR/rgw
rgw dns name = 127.0.0.1
EOF
}

start() {
  mkdir -p "$(dirname "$DIR")"
  exec 9>"$DIR.lock"
  flock 9
  if gateway_up && pid_alive "$DIR/run/client.rgw.a.pid"; then
    say "already running ($ENDPOINT)"
    return 0
  fi
  for tool in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
    command -v "$tool" >/dev/null || {
      say "$tool is missing: apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd"
      return 3
    }
  done
  # The monitor and OSD may still run while the gateway died: restart the gateway alone.
  if pid_alive "$DIR/run/mon.a.pid" && pid_alive "$DIR/run/osd.0.pid"; then
    start_gateway && return 0
  fi
  stop_daemons
  rm -rf "$DIR"
  mkdir -p "$DIR"/{run,log,mon,osd/ceph-0,rgw}
  write_conf

  monmaptool --create --fsid "$(awk '/^fsid/ {print $3}' "$CONF")" \
    --addv a '[v2:127.0.0.1:3300,v1:127.0.0.1:6789]' "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" >/dev/null
  # Daemons get neither the lock (fd 9) nor the caller's stdout/stderr (a test waits for those to close).
  ceph-mon -c "$CONF" -i a >>"$DIR/log/daemons.log" 2>&1 9>&-

  local id
  id=$(ceph -c "$CONF" --connect-timeout 20 osd create)
  [ "$id" = "0" ] || { say "unexpected OSD id $id"; return 1; }
  ceph-osd -c "$CONF" -i 0 --mkfs >>"$DIR/log/daemons.log" 2>&1
  ceph-osd -c "$CONF" -i 0 >>"$DIR/log/daemons.log" 2>&1 9>&-
  start_gateway
}

start_gateway() {
  radosgw -c "$CONF" -n client.rgw.a >>"$DIR/log/daemons.log" 2>&1 9>&-
  for _ in $(seq 1 600); do
    if gateway_up; then
      radosgw-admin -c "$CONF" user info --uid=test >/dev/null 2>&1 ||
        radosgw-admin -c "$CONF" user create --uid=test --display-name=test \
          --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
      say "ready ($ENDPOINT, data in $DIR)"
      return 0
    fi
    sleep 0.1
  done
  say "the gateway did not answer within 60 s; see $DIR/log"
  return 1
}

stop_daemons() {
  local f
  for f in "$DIR"/run/client.rgw.a.pid "$DIR"/run/osd.0.pid "$DIR"/run/mon.a.pid; do
    if pid_alive "$f"; then
      local pid
      pid=$(cat "$f")
      kill -CONT "$pid" 2>/dev/null || true # a test may have paused it
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
}

stop() {
  mkdir -p "$(dirname "$DIR")"
  exec 9>"$DIR.lock"
  flock 9
  stop_daemons
  rm -rf "$DIR"
  say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    if gateway_up; then echo "running ($ENDPOINT)"; else echo "not running"; exit 1; fi
    ;;
  env)
    echo "AWS_ACCESS_KEY_ID=$ACCESS_KEY"
    echo "AWS_SECRET_ACCESS_KEY=$SECRET_KEY"
    echo "AWS_REGION=us-east-1"
    echo "EVIDENT_S3_ENDPOINT=$ENDPOINT"
    ;;
  *)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
