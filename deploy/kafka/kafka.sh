#!/usr/bin/env bash
# Runs a single-node Apache Kafka broker (KRaft) on the local JDK, no Docker needed.
#
#   deploy/kafka/kafka.sh install   fetch the broker jars pinned in pom.xml (Maven Central)
#   deploy/kafka/kafka.sh start     install if needed, format storage once, start, wait until ready
#   deploy/kafka/kafka.sh stop      stop the broker started here (pid file), wait for it to exit
#   deploy/kafka/kafka.sh status    say whether it runs and where
#   deploy/kafka/kafka.sh reset     stop and delete its data
#
# Environment: KAFKA_PORT (19092), KAFKA_CONTROLLER_PORT (19093),
# MLC_STATE_DIR (.state/ at the repository root): data, pid file and broker.log live there.
# Second listeners, to try the clients' security settings (PLAINTEXT stays for the rest):
#   KAFKA_SASL_PORT       a SASL_PLAINTEXT listener with SCRAM-SHA-256 and SCRAM-SHA-512; create
#                         users with the Admin API (kafka-configs --alter --add-config SCRAM-...)
#   KAFKA_SSL_PORT        an SSL listener, with KAFKA_SSL_KEYSTORE_PEM: one PEM file holding
#                         the broker's unencrypted private key and its certificate chain
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
port=${KAFKA_PORT:-19092}
cport=${KAFKA_CONTROLLER_PORT:-19093}
state=${MLC_STATE_DIR:-$root/.state}/kafka
pidfile=$state/broker.pid
logdir=$state/logs
data=$state/data
lib=$here/lib
sasl_port=${KAFKA_SASL_PORT:-}
ssl_port=${KAFKA_SSL_PORT:-}
ssl_keystore=${KAFKA_SSL_KEYSTORE_PEM:-}

say() { echo "kafka: $*" >&2; }

installed() { [ -f "$lib/.complete" ] && [ "$lib/.complete" -nt "$here/pom.xml" ]; }

install() {
  installed && return 0
  command -v java >/dev/null || { say "java not found: install a JDK 17 or newer"; exit 1; }
  command -v mvn >/dev/null || { say "mvn not found: install Maven"; exit 1; }
  say "fetching broker jars pinned in deploy/kafka/pom.xml (first run only)"
  rm -rf "$lib"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$lib" -DincludeScope=runtime
  touch "$lib/.complete"
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

# Called in the background as well: `exec` keeps the java process on the pid that $! reports.
run_java() {
  exec java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$logdir" \
    -cp "$lib/*" "$@"
}

# Each partition keeps a few files open; test runs that leave their topics behind add up.
diagnose() {
  local partitions; partitions=$(find "$data" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
  if grep -qs "Too many open files" "$logdir/broker.log" "$logdir/stdout.log"; then
    say "the broker ran out of file descriptors (limit $(ulimit -n)) with $partitions partitions on disk;"
    say "'make clean' (deploy/kafka/kafka.sh reset) removes the local broker's data, test topics included"
  fi
}

# What the second listeners need; nothing when neither is asked for.
security_properties() {
  if [ -n "$sasl_port" ]; then
    local scram=org.apache.kafka.common.security.scram.ScramLoginModule
    echo "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512"
    echo "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=$scram required;"
    echo "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=$scram required;"
  fi
  if [ -n "$ssl_port" ]; then
    [ -f "$ssl_keystore" ] || { say "KAFKA_SSL_PORT needs KAFKA_SSL_KEYSTORE_PEM (key and certificate chain)"; exit 1; }
    echo "listener.name.ssl.ssl.keystore.type=PEM"
    echo "listener.name.ssl.ssl.keystore.location=$ssl_keystore"
    echo "listener.name.ssl.ssl.client.auth=none"
  fi
}

start() {
  if running; then say "already running (pid $(cat "$pidfile")) on 127.0.0.1:$port"; return 0; fi
  if port_open; then
    # Another checkout's broker (or one started by hand): share it rather than fail.
    say "something already listens on 127.0.0.1:$port; using it (set KAFKA_PORT for a broker of your own)"
    return 0
  fi
  install
  mkdir -p "$logdir" "$data"
  local partitions limit; partitions=$(find "$data" -mindepth 1 -maxdepth 1 -type d | wc -l)
  limit=$(ulimit -n)
  if [ "$limit" != unlimited ] && [ "$partitions" -gt $(( limit / 4 )) ]; then
    say "warning: $partitions partitions on disk for a file limit of $limit; 'make clean' removes them"
  fi
  local extra=""
  [ -n "$sasl_port" ] && extra="$extra,SASL_PLAINTEXT://127.0.0.1:$sasl_port"
  [ -n "$ssl_port" ] && extra="$extra,SSL://127.0.0.1:$ssl_port"
  sed -e "s#@PORT@#$port#g" -e "s#@CONTROLLER_PORT@#$cport#g" -e "s#@DATA_DIR@#$data#g" \
    -e "s#@EXTRA_LISTENERS@#$extra#g" \
    "$here/server.properties.template" > "$state/server.properties"
  security_properties >> "$state/server.properties"
  if [ ! -f "$data/meta.properties" ]; then
    say "formatting storage in $data"
    (run_java kafka.tools.StorageTool format --standalone \
      --cluster-id "$(run_java kafka.tools.StorageTool random-uuid)" \
      --config "$state/server.properties") >"$logdir/format.log" 2>&1 \
      || { say "storage format failed, see $logdir/format.log"; exit 1; }
  fi
  say "starting on 127.0.0.1:$port (log: $logdir/broker.log)"
  run_java kafka.Kafka "$state/server.properties" </dev/null >"$logdir/stdout.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if ! running; then say "broker exited at start, see $logdir/stdout.log"; tail -20 "$logdir/stdout.log" >&2; diagnose; exit 1; fi
    if port_open && grep -q "Kafka Server started\|KafkaRaftServer.*started" "$logdir/stdout.log" "$logdir/broker.log" 2>/dev/null; then
      say "ready"; return 0
    fi
    sleep 0.5
  done
  say "not ready after 60 s, see $logdir/broker.log"; diagnose; exit 1
}

stop() {
  if ! running; then say "not running"; rm -f "$pidfile"; return 0; fi
  local pid; pid=$(cat "$pidfile")
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; say "stopped"; return 0; }; sleep 0.5; done
  say "did not stop in 30 s, killing"; kill -9 "$pid" 2>/dev/null || true; rm -f "$pidfile"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running pid $(cat "$pidfile") on 127.0.0.1:$port"; else echo "not running"; exit 3; fi ;;
  reset) stop; rm -rf "$state"; say "data removed" ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
