#!/usr/bin/env bash
# Fetch Apache Kafka (server, tools and client jars with their transitive
# dependencies) from Maven Central into build/kafka-jars/, for the interop
# tests: the reference broker (RUNNEL_TEST_TARGET=kafka), Kafka's command-line
# tools and the Java client tests all run from this one jar folder.
#
# Cached: does nothing when build/kafka-jars/.complete exists and names the
# same version. Needs only Maven and Java 17.
#
#   tools/kafka-jars.sh            fetch (or reuse) into build/kafka-jars
#   KAFKA_VERSION=3.9.1 tools/kafka-jars.sh
#   KAFKA_JARS=DIR tools/kafka-jars.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KAFKA_VERSION=${KAFKA_VERSION:-3.9.1}
SCALA_VERSION=2.13
OUT=${KAFKA_JARS:-$ROOT/build/kafka-jars}
WORK=$ROOT/build/kafka-jars-pom

if [ -f "$OUT/.complete" ] && [ "$(cat "$OUT/.complete")" = "$KAFKA_VERSION" ]; then
  exit 0
fi

command -v mvn >/dev/null || { echo "kafka-jars: mvn not found (install maven)" >&2; exit 1; }

mkdir -p "$WORK"
# A throw-away pom whose only job is to resolve the dependency closure.
cat >"$WORK/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>runnel.test</groupId>
  <artifactId>kafka-jars</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <properties>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_${SCALA_VERSION}</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-server</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-clients</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-storage</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-metadata</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-raft</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-group-coordinator</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-transaction-coordinator</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <!-- Logging: Kafka 3.9 logs through slf4j to reload4j (log4j 1 API). -->
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>
  </dependencies>
</project>
POM

TMP_OUT="$OUT.tmp"
rm -rf "$TMP_OUT"
mkdir -p "$TMP_OUT"
echo "kafka-jars: resolving Apache Kafka $KAFKA_VERSION from Maven Central" >&2
mvn -B -q -f "$WORK/pom.xml" \
  org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
  -DoutputDirectory="$TMP_OUT" -DincludeScope=runtime -Dmdep.useBaseVersion=true >&2

# Sanity: the main classes the tests use are present.
for jar in "kafka_${SCALA_VERSION}-${KAFKA_VERSION}.jar" "kafka-clients-${KAFKA_VERSION}.jar" \
           "kafka-tools-${KAFKA_VERSION}.jar"; do
  [ -f "$TMP_OUT/$jar" ] || { echo "kafka-jars: $jar missing after resolution" >&2; exit 1; }
done

rm -rf "$OUT"
mv "$TMP_OUT" "$OUT"
echo "$KAFKA_VERSION" >"$OUT/.complete"
echo "kafka-jars: $(ls "$OUT" | wc -l) jars in $OUT" >&2
