#!/usr/bin/env bash
# Runs a single-node Apache Kafka broker (KRaft) on the local JDK, no Docker needed.
#
#   deploy/kafka/kafka.sh install   fetch the broker jars pinned in pom.xml (Maven Central)
#   deploy/kafka/kafka.sh start     install if needed, format storage once, start, wait until ready
#   deploy/kafka/kafka.sh stop      stop the broker started here (pid file), wait for it to exit
#   deploy/kafka/kafka.sh status    say whether it runs and where
#   deploy/kafka/kafka.sh reset     stop and delete its data
#   deploy/kafka/kafka.sh tool NAME [ARGS...]
#                                   run one of Kafka's own command-line tools (kafka-consumer-groups,
#                                   kafka-topics, ...) against this broker; `tool --help` lists them
#
# Environment: KAFKA_PORT (19092), KAFKA_CONTROLLER_PORT (19093),
# MLC_STATE_DIR (.state/ at the repository root): data, pid file and broker.log live there.
# `tool` talks to KAFKA_BOOTSTRAP_SERVERS when set, else to 127.0.0.1:KAFKA_PORT.
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
bootstrap=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:$port}

say() { echo "kafka: $*" >&2; }

# lib/.complete holds the hash of the pom.xml the jars were fetched for: a lib/ fetched before the
# pom changed (a new tool, a new version) is fetched again, whatever the files' times say.
pom_hash() { sha256sum "$here/pom.xml" | cut -d' ' -f1; }

installed() { [ -f "$lib/.complete" ] && [ "$(cat "$lib/.complete")" = "$(pom_hash)" ]; }

# The jars go to a new directory that then replaces lib/ in one rename: a broker already running
# from lib/ keeps the files it has open, a checkout whose lib/ is a hard-linked copy of another's
# never writes into the shared files, and two installs at once wait on one lock.
install() {
  installed && return 0
  command -v java >/dev/null || { say "java not found: install a JDK 17 or newer"; exit 1; }
  command -v mvn >/dev/null || { say "mvn not found: install Maven"; exit 1; }
  exec 9>"$here/.install.lock"
  flock 9
  if installed; then flock -u 9; return 0; fi
  say "fetching the broker and tools jars pinned in deploy/kafka/pom.xml (once per pom.xml)"
  local fresh="$here/lib.new" stale="$here/lib.old"
  rm -rf "$fresh" "$stale"
  mvn -q -B -Dstyle.color=never -f "$here/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$fresh" -DincludeScope=runtime
  pom_hash >"$fresh/.complete"
  if [ -d "$lib" ]; then mv "$lib" "$stale"; fi
  mv "$fresh" "$lib"
  rm -rf "$stale"
  flock -u 9
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

# Kafka's bin/ scripts, by name: the main class each runs (checked in the 4.1.1 jars) and where
# `--bootstrap-server` goes when the caller gives none: first (before the arguments; also for
# options before a sub-command), last (after them: options of a sub-command), none (no broker).
tool_table() {
  cat <<'TOOLS'
kafka-consumer-groups      org.apache.kafka.tools.consumer.group.ConsumerGroupCommand first  list, describe, delete groups; reset their offsets (replay)
kafka-topics               org.apache.kafka.tools.TopicCommand                        first  list, describe, create, alter, delete topics
kafka-console-consumer     org.apache.kafka.tools.consumer.ConsoleConsumer            first  print records of a topic
kafka-console-producer     org.apache.kafka.tools.ConsoleProducer                     first  write records to a topic from stdin
kafka-get-offsets          org.apache.kafka.tools.GetOffsetShell                      first  a topic's offsets (earliest, latest, by time)
kafka-delete-records       org.apache.kafka.tools.DeleteRecordsCommand                first  delete records below an offset
kafka-configs              kafka.admin.ConfigCommand                                  first  describe or alter topic, broker, client and user configs
kafka-groups               org.apache.kafka.tools.GroupsCommand                       first  list groups of every type
kafka-share-groups         org.apache.kafka.tools.consumer.group.ShareGroupCommand    first  share groups
kafka-streams-groups       org.apache.kafka.tools.streams.StreamsGroupCommand         first  streams groups
kafka-transactions         org.apache.kafka.tools.TransactionsCommand                 first  list, describe, abort transactions
kafka-acls                 org.apache.kafka.tools.AclCommand                          first  access control lists
kafka-broker-api-versions  org.apache.kafka.tools.BrokerApiVersionsCommand            first  the API versions the broker supports
kafka-metadata-quorum      org.apache.kafka.tools.MetadataQuorumCommand               first  the KRaft quorum's state
kafka-features             org.apache.kafka.tools.FeatureCommand                      first  the cluster's feature versions
kafka-cluster              org.apache.kafka.tools.ClusterTool                         last   the cluster id; unregister a broker
kafka-log-dirs             org.apache.kafka.tools.LogDirsCommand                      first  log directories and their sizes
kafka-leader-election      org.apache.kafka.tools.LeaderElectionCommand               first  elect partition leaders
kafka-reassign-partitions  org.apache.kafka.tools.reassign.ReassignPartitionsCommand  first  move partitions between brokers
kafka-client-metrics       org.apache.kafka.tools.ClientMetricsCommand                first  client metrics subscriptions
kafka-delegation-tokens    org.apache.kafka.tools.DelegationTokenCommand              first  delegation tokens
kafka-dump-log             kafka.tools.DumpLogSegments                                none   decode log segment files on disk
kafka-storage              kafka.tools.StorageTool                                    none   format or inspect a KRaft log directory
TOOLS
}

tool_help() {
  echo "usage: deploy/kafka/kafka.sh tool NAME [ARGS...]"
  echo
  echo "Runs Apache Kafka's own command-line tool NAME (the name of its bin/ script, with or"
  echo "without .sh) on the local JDK. Without --bootstrap-server (or --bootstrap-controller) it"
  echo "talks to $bootstrap (KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:\$KAFKA_PORT)."
  echo "NAME --help prints the tool's own options."
  echo
  echo "tools:"
  tool_table | awk '{ name = $1; $1 = $2 = $3 = ""; sub(/^ +/, ""); printf "  %-27s %s\n", name, $0 }'
  echo
  echo "example: the groups, then one sink group's offsets back to a time (the sink stopped):"
  echo "  deploy/kafka/kafka.sh tool kafka-consumer-groups --list"
  echo "  deploy/kafka/kafka.sh tool kafka-consumer-groups --group mlc-slack-sink --topic sink.slack.v1 \\"
  echo "      --reset-offsets --to-datetime 2026-12-01T00:00:00.000 --execute"
}

has_bootstrap() {
  local arg
  for arg in "$@"; do
    case "$arg" in --bootstrap-server|--bootstrap-server=*|--bootstrap-controller|--bootstrap-controller=*) return 0 ;; esac
  done
  return 1
}

tool() {
  local name=${1:-}
  case "$name" in ""|-h|--help|help) tool_help; return 0 ;; esac
  shift
  name=${name%.sh}
  local row class where
  row=$(tool_table | awk -v n="$name" '$1 == n')
  if [ -z "$row" ]; then say "unknown tool '$name'; 'deploy/kafka/kafka.sh tool --help' lists them"; exit 2; fi
  read -r _ class where _ <<<"$row"
  install
  local args=("$@")
  if [ "$where" != none ] && ! has_bootstrap "$@"; then
    if [ "$where" = first ]; then args=(--bootstrap-server "$bootstrap" "$@"); else args=("$@" --bootstrap-server "$bootstrap"); fi
  fi
  # Tools log warnings to stderr (tools-log4j2.properties); a small heap and a quick JIT: they are short.
  exec java -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/tools-log4j2.properties" \
    -cp "$lib/*" "$class" "${args[@]}"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running pid $(cat "$pidfile") on 127.0.0.1:$port"; else echo "not running"; exit 3; fi ;;
  reset) stop; rm -rf "$state"; say "data removed" ;;
  tool) shift; tool "$@" ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
