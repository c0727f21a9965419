#!/usr/bin/env bash
# Run one of Apache Kafka's command-line tools from build/kafka-jars/, like the
# kafka-*.sh scripts of a Kafka distribution:
#
#   tests/interop/lib/kafka_tools.sh topics --bootstrap-server 127.0.0.1:9092 --list
#   tests/interop/lib/kafka_tools.sh console-producer --bootstrap-server ... --topic t
#   tests/interop/lib/kafka_tools.sh console-consumer --bootstrap-server ... --topic t \
#       --partition 0 --offset earliest --max-messages 10
#   tests/interop/lib/kafka_tools.sh org.apache.kafka.tools.GetOffsetShell ...
#
# The tool names and main classes are those of kafka_tools.py (Kafka 3.9).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
JARS=${KAFKA_JARS:-$ROOT/build/kafka-jars}
[ -f "$JARS/.complete" ] || "$ROOT/tools/kafka-jars.sh"

tool=${1:?usage: kafka_tools.sh TOOL|MAIN_CLASS ARGS...}
shift
case "$tool" in
  topics)           main=org.apache.kafka.tools.TopicCommand ;;
  console-producer) main=kafka.tools.ConsoleProducer ;;
  console-consumer) main=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  storage)          main=kafka.tools.StorageTool ;;
  configs)          main=kafka.admin.ConfigCommand ;;
  consumer-groups)  main=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
  get-offsets)      main=org.apache.kafka.tools.GetOffsetShell ;;
  delete-records)   main=org.apache.kafka.tools.DeleteRecordsCommand ;;
  producer-perf-test) main=org.apache.kafka.tools.ProducerPerformance ;;
  transactions)     main=org.apache.kafka.tools.TransactionsCommand ;;
  *.*)              main=$tool ;;
  *) echo "kafka_tools.sh: unknown tool $tool" >&2; exit 2 ;;
esac
exec java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
  "-Dlog4j.configuration=file:$HERE/tools-log4j.properties" -cp "$JARS/*" "$main" "$@"
