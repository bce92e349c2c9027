#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft: broker and controller in one JVM) on 127.0.0.1 for development and the
# integration tests. Needs only Java 17+ and Maven: the broker jars come from Maven Central through
# scripts/kafka/pom.xml and are kept in .cache/kafka/libs; data, config, log and pid file live in .cache/kafka.
#
#   bash scripts/kafka.sh fetch    resolve the jars (skipped when already there)
#   bash scripts/kafka.sh start    fetch if needed, format the log dir once, start, wait until the broker
#                                  answers; prints KAFKA_BROKERS=127.0.0.1:<port> and KAFKA_STARTED=yes, or
#                                  KAFKA_STARTED=no when it was already running (which is fine).
#   bash scripts/kafka.sh stop     stop the broker this script started
#   bash scripts/kafka.sh status   exit 0 and print KAFKA_BROKERS=... when it runs and answers, 1 otherwise
#   bash scripts/kafka.sh logs     print the tail of the broker log
#   bash scripts/kafka.sh reset    stop and delete the broker's data (topics and offsets)
#   bash scripts/kafka.sh tool NAME [ARGS...]
#                                  run one of Kafka's own command-line tools from the same jars, e.g.
#                                  tool kafka-console-consumer --bootstrap-server 127.0.0.1:19092 \
#                                    --topic estelam.audit.v1 --from-beginning --property print.key=true
#                                  (NAME: kafka-console-consumer, kafka-console-producer, kafka-topics,
#                                  kafka-consumer-groups, kafka-get-offsets)
#
# Environment: KAFKA_PORT (default 19092), KAFKA_CONTROLLER_PORT (19093), KAFKA_VERSION (the pom's 3.9 patch),
# KAFKA_HEAP_OPTS (-Xms256m -Xmx512m), KAFKA_JVM_OPTS (more JVM flags), KAFKA_START_TIMEOUT seconds (90),
# KAFKA_STATE_DIR (data, config, log and pid of this instance, relative to the project root; default
# .cache/kafka), KAFKA_MVN_ARGS (extra
# Maven flags, e.g. -Dmaven.repo.local=...).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$root/.cache/kafka"
libs="$cache/libs"
# Everything of one broker instance; a second instance (other ports) needs its own KAFKA_STATE_DIR.
state="${KAFKA_STATE_DIR:-$cache}"
case "$state" in /*) ;; *) state="$root/$state" ;; esac
data="$state/data"
config="$state/server.properties"
log4j_config="$state/log4j.properties"
log_file="$state/broker.log"
format_log="$state/format.log"
pid_file="$state/kafka.pid"
port_file="$state/kafka.port"
cluster_id_file="$state/cluster.id"

port="${KAFKA_PORT:-19092}"
controller_port="${KAFKA_CONTROLLER_PORT:-19093}"
heap_opts="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
start_timeout="${KAFKA_START_TIMEOUT:-90}"

say() { echo "kafka: $*" >&2; }
die() { say "$*"; exit 1; }

need_java() {
  command -v java >/dev/null 2>&1 || die "java not found; Java 17 or newer is needed"
}

# Node (for the readiness probe) comes from the project's toolchain when the machine's is too old.
need_node() {
  if [ -x "$root/.tools/node/bin/node" ]; then export PATH="$root/.tools/node/bin:$PATH"; fi
  command -v node >/dev/null 2>&1 || die "node not found; run: . scripts/ensure-node.sh"
  [ -f "$root/node_modules/kafkajs/package.json" ] || die "kafkajs is not installed; run: npm install"
}

kafka_version() {
  if [ -n "${KAFKA_VERSION:-}" ]; then echo "$KAFKA_VERSION"; return; fi
  sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$root/scripts/kafka/pom.xml" | head -n 1
}

jars_present() {
  [ -f "$libs/.complete" ] && [ -f "$libs/kafka_2.13-$(kafka_version).jar" ] && [ -f "$libs/kafka-tools-$(kafka_version).jar" ]
}

cmd_fetch() {
  if jars_present; then return 0; fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found; Maven 3.8 or newer is needed to fetch the Kafka jars"
  local version staging
  version="$(kafka_version)"
  say "fetching Apache Kafka $version jars from Maven Central into .cache/kafka/libs ..."
  mkdir -p "$cache"
  # Copy into a staging folder and swap it in whole, so an interrupted fetch never looks complete.
  staging="$(mktemp -d "$cache/libs.fetch.XXXXXX")"
  # shellcheck disable=SC2086 # KAFKA_MVN_ARGS is a list of flags
  if ! mvn -q -B -f "$root/scripts/kafka/pom.xml" ${KAFKA_MVN_ARGS:-} \
      -Dkafka.version="$version" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$staging" >&2; then
    rm -rf "$staging"
    die "could not fetch the Kafka jars (is Maven Central reachable?)"
  fi
  [ -f "$staging/kafka_2.13-$version.jar" ] || { rm -rf "$staging"; die "kafka_2.13-$version.jar missing after fetch"; }
  touch "$staging/.complete"
  rm -rf "$libs"
  mv "$staging" "$libs"
  say "fetched $(find "$libs" -name '*.jar' | wc -l) jars"
}

running_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid="$(cat "$pid_file")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # A recycled pid must belong to our broker, not to some other process.
  if [ -r "/proc/$pid/cmdline" ]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "kafka.Kafka $config" || return 1
  fi
  echo "$pid"
}

# Asks the broker for its cluster description and topic list; exits 0 once it answers, non-zero when the
# deadline passes or the process named by $2 dies first.
probe() {
  local brokers="$1" watch_pid="${2:-}" timeout_s="${3:-$start_timeout}"
  need_node
  (cd "$root" && WATCH_PID="$watch_pid" BROKERS="$brokers" TIMEOUT_S="$timeout_s" node --no-warnings -e '
    const { Kafka, logLevel } = require("kafkajs");
    const deadline = Date.now() + Number(process.env.TIMEOUT_S) * 1000;
    const watch = Number(process.env.WATCH_PID || 0);
    const alive = () => { if (!watch) return true; try { process.kill(watch, 0); return true; } catch { return false; } };
    const kafka = new Kafka({
      clientId: "estelam-kafka-probe", brokers: process.env.BROKERS.split(","), logLevel: logLevel.NOTHING,
      connectionTimeout: 1000, requestTimeout: 3000, retry: { retries: 0 },
    });
    (async () => {
      let last = "no attempt";
      while (Date.now() < deadline) {
        if (!alive()) { console.error("kafka: the broker process exited"); process.exit(3); }
        const admin = kafka.admin();
        try {
          await admin.connect();
          const cluster = await admin.describeCluster();
          await admin.listTopics();
          await admin.disconnect();
          if (cluster.brokers.length > 0 && cluster.controller !== null && cluster.controller !== undefined) process.exit(0);
          last = "no controller yet";
        } catch (error) {
          last = error instanceof Error ? error.message : String(error);
          await admin.disconnect().catch(() => {});
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      console.error(`kafka: no answer from ${process.env.BROKERS} within ${process.env.TIMEOUT_S}s (last: ${last})`);
      process.exit(2);
    })();
  ')
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

write_config() {
  mkdir -p "$data"
  cat >"$config" <<EOF
# Written by scripts/kafka.sh; edits are overwritten at the next start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data
# One node: every replication factor and minimum ISR is 1.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
num.partitions=3
# Small machine: fewer threads and internal partitions, no rebalance delay for test consumers.
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
group.initial.rebalance.delay.ms=0
log.retention.hours=24
log.segment.bytes=67108864
EOF
  cat >"$log4j_config" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.kafka.log=WARN
EOF
  echo "$port" >"$port_file"
}

format_storage() {
  local cluster_id
  if [ -s "$cluster_id_file" ]; then
    cluster_id="$(cat "$cluster_id_file")"
  else
    need_node
    cluster_id="$(node -e 'process.stdout.write(require("node:crypto").randomBytes(16).toString("base64url"))')"
    echo "$cluster_id" >"$cluster_id_file"
  fi
  # -g (--ignore-formatted): a log dir formatted by an earlier start is kept as it is.
  java -Xmx128m -cp "$libs/*" -Dlog4j.configuration="file:$log4j_config" kafka.tools.StorageTool \
    format --cluster-id="$cluster_id" -c "$config" -g >"$format_log" 2>&1 \
    || { tail -n 30 "$format_log" >&2; die "formatting the log dir failed"; }
}

print_tail() {
  if [ -f "$log_file" ]; then
    say "last lines of $log_file:"
    tail -n "${1:-40}" "$log_file" >&2
  fi
}

cmd_start() {
  local pid
  if pid="$(running_pid)"; then
    local running_port
    running_port="$(cat "$port_file" 2>/dev/null || echo "$port")"
    [ "$running_port" = "$port" ] || say "already running on port $running_port (KAFKA_PORT=$port ignored); stop it first to change ports"
    if probe "127.0.0.1:$running_port" "$pid"; then
      say "already running (pid $pid)"
      echo "KAFKA_BROKERS=127.0.0.1:$running_port"
      echo "KAFKA_STARTED=no"
      return 0
    fi
    print_tail
    die "broker process $pid runs but does not answer on 127.0.0.1:$running_port"
  fi
  need_java
  need_node
  cmd_fetch
  if port_in_use "$port"; then die "port $port is taken by another process; set KAFKA_PORT"; fi
  if port_in_use "$controller_port"; then die "port $controller_port is taken by another process; set KAFKA_CONTROLLER_PORT"; fi
  mkdir -p "$state"
  [ -f "$log_file" ] && mv -f "$log_file" "$log_file.1"
  write_config
  format_storage
  # shellcheck disable=SC2086 # heap_opts and KAFKA_JVM_OPTS are lists of flags
  setsid nohup java $heap_opts -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dlog4j.configuration="file:$log4j_config" ${KAFKA_JVM_OPTS:-} \
    -cp "$libs/*" kafka.Kafka "$config" >>"$log_file" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$pid_file"
  say "started broker (pid $pid), waiting up to ${start_timeout}s for 127.0.0.1:$port to answer"
  if probe "127.0.0.1:$port" "$pid"; then
    echo "KAFKA_BROKERS=127.0.0.1:$port"
    echo "KAFKA_STARTED=yes"
    return 0
  fi
  print_tail 60
  kill "$pid" 2>/dev/null || true
  rm -f "$pid_file"
  die "the broker did not come up; log: $log_file"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pid_file"
    say "not running"
    return 0
  fi
  kill "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pid_file"; say "stopped (pid $pid)"; return 0; }
    sleep 0.5
  done
  say "broker did not stop within 30s; killing pid $pid"
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pid_file"
}

cmd_status() {
  local pid running_port
  if ! pid="$(running_pid)"; then
    say "not running"
    return 1
  fi
  running_port="$(cat "$port_file" 2>/dev/null || echo "$port")"
  if probe "127.0.0.1:$running_port" "$pid" 5; then
    say "running (pid $pid)"
    echo "KAFKA_BROKERS=127.0.0.1:$running_port"
    return 0
  fi
  say "process $pid runs but the broker does not answer on 127.0.0.1:$running_port"
  return 1
}

cmd_reset() {
  cmd_stop
  rm -rf "$data" "$cluster_id_file"
  say "data deleted"
}

# One start/stop at a time per instance (two test runs may both find no broker and start one); the jars'
# folder has its own lock. Without flock (e.g. macOS) the commands simply run unserialised.
with_lock() {
  local lock="$1"
  shift
  mkdir -p "$(dirname "$lock")"
  if command -v flock >/dev/null 2>&1; then
    (
      flock -w 600 9 || die "timed out waiting for $lock"
      "$@"
    ) 9>"$lock"
  else
    "$@"
  fi
}

# Kafka's tools by the names of the scripts in Kafka's own bin/ folder.
tool_class() {
  case "$1" in
    kafka-console-consumer) echo org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    kafka-console-producer) echo kafka.tools.ConsoleProducer ;;
    kafka-topics) echo org.apache.kafka.tools.TopicCommand ;;
    kafka-consumer-groups) echo org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    kafka-get-offsets) echo org.apache.kafka.tools.GetOffsetShell ;;
    *) return 1 ;;
  esac
}

cmd_tool() {
  local name="${1:-}" class
  class="$(tool_class "$name")" || die "unknown tool '$name' (kafka-console-consumer, kafka-console-producer, kafka-topics, kafka-consumer-groups, kafka-get-offsets)"
  shift
  need_java
  with_lock "$cache/fetch.lock" cmd_fetch
  # The tools log through log4j to stderr, warnings only, so their output stays clean.
  mkdir -p "$cache"
  printf 'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\nlog4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stderr.layout.ConversionPattern=[%%d] %%p %%m (%%c)%%n\n' >"$cache/tools-log4j.properties"
  exec java -Xmx256m -Djava.awt.headless=true -Dlog4j.configuration="file:$cache/tools-log4j.properties" -cp "$libs/*" "$class" "$@"
}

case "${1:-}" in
  fetch) with_lock "$cache/fetch.lock" cmd_fetch ;;
  start) with_lock "$cache/fetch.lock" cmd_fetch && with_lock "$state/instance.lock" cmd_start ;;
  stop) with_lock "$state/instance.lock" cmd_stop ;;
  status) cmd_status ;;
  logs) print_tail "${2:-80}" ;;
  reset) with_lock "$state/instance.lock" cmd_reset ;;
  tool) shift; cmd_tool "$@" ;;
  *) echo "usage: bash scripts/kafka.sh fetch|start|stop|status|logs|reset|tool NAME [ARGS...]" >&2; exit 2 ;;
esac
