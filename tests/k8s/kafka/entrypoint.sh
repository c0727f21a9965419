#!/bin/sh
# Apache Kafka 3.9 in a StatefulSet pod, for the k8s scenarios' reference
# figures: node.id from the pod name's ordinal, the advertised name and the
# three voters from POD_NAME, SERVICE_NAME and POD_NAMESPACE; formats an
# empty data folder, then runs the broker (combined broker and controller).
set -ef # no globbing: the class path holds a * for java
ord=${POD_NAME##*-}
sts=${POD_NAME%-*}
dom=$SERVICE_NAME.$POD_NAMESPACE.svc
voters=
i=0
while [ "$i" -lt "${REPLICAS:-3}" ]; do
  voters=$voters${voters:+,}$i@$sts-$i.$dom:9093
  i=$((i + 1))
done
conf=/tmp/server.properties
# The image has no cat: printf is the shell's own.
printf '%s\n' \
  process.roles=broker,controller \
  "node.id=$ord" \
  "controller.quorum.voters=$voters" \
  listeners=PLAINTEXT://:9092,CONTROLLER://:9093 \
  "advertised.listeners=PLAINTEXT://$POD_NAME.$dom:9092" \
  controller.listener.names=CONTROLLER \
  listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT \
  inter.broker.listener.name=PLAINTEXT \
  log.dirs=/var/lib/kafka/data \
  offsets.topic.replication.factor=3 \
  transaction.state.log.replication.factor=3 \
  transaction.state.log.min.isr=2 > $conf
printf '%s\n' \
  'log4j.rootLogger=INFO, stdout' \
  log4j.appender.stdout=org.apache.log4j.ConsoleAppender \
  log4j.appender.stdout.layout=org.apache.log4j.PatternLayout \
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n' > /tmp/log4j.properties
J="/opt/java/bin/java -Xms512m -Xmx512m -XX:-UsePerfData -Djava.awt.headless=true -Dlog4j.configuration=file:/tmp/log4j.properties -cp /opt/kafka/libs/*"
$J kafka.tools.StorageTool format -t "$CLUSTER_ID" -c $conf --ignore-formatted
exec $J kafka.Kafka $conf
