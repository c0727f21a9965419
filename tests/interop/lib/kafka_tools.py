"""Run Apache Kafka's own command-line tools (3.9) from the jar folder of
tools/kafka-jars.sh, as the kafka-*.sh scripts of a Kafka distribution do.

    from kafka_tools import topics, console_producer, console_consumer
    r = topics(b.bootstrap, "--create", "--topic", "t", "--partitions", "3")
    r.returncode, r.stdout, r.stderr

Main classes, as in Kafka 3.9's bin/ scripts:
  kafka-topics.sh            org.apache.kafka.tools.TopicCommand
  kafka-console-producer.sh  kafka.tools.ConsoleProducer
  kafka-console-consumer.sh  org.apache.kafka.tools.consumer.ConsoleConsumer
  kafka-storage.sh           kafka.tools.StorageTool
  kafka-leader-election.sh   org.apache.kafka.tools.LeaderElectionCommand
  kafka-transactions.sh      org.apache.kafka.tools.TransactionsCommand
Every call has a timeout; nothing outlives the call.
"""

import os
import subprocess

from broker import ensure_kafka_jars

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS_LOG4J = os.path.join(HERE, "tools-log4j.properties")

MAIN_CLASSES = {
    "topics": "org.apache.kafka.tools.TopicCommand",
    "console-producer": "kafka.tools.ConsoleProducer",
    "console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "storage": "kafka.tools.StorageTool",
    "configs": "kafka.admin.ConfigCommand",
    "consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "delete-records": "org.apache.kafka.tools.DeleteRecordsCommand",
    "log-dirs": "org.apache.kafka.tools.LogDirsCommand",
    "producer-perf-test": "org.apache.kafka.tools.ProducerPerformance",
    "leader-election": "org.apache.kafka.tools.LeaderElectionCommand",
    "transactions": "org.apache.kafka.tools.TransactionsCommand",
}


def java_cmd(main_class, *args, heap="256m"):
    """The argv that runs main_class with the Kafka jars on the class path."""
    jars = ensure_kafka_jars()
    return ["java", f"-Xmx{heap}", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true", f"-Dlog4j.configuration=file:{TOOLS_LOG4J}",
            "-cp", os.path.join(jars, "*"), main_class, *args]


def run_tool(tool, *args, input=None, timeout=120):
    """Run a Kafka tool by short name (see MAIN_CLASSES) or main class.

    Returns subprocess.CompletedProcess with text stdout/stderr. A timeout
    raises subprocess.TimeoutExpired after the process is killed."""
    main = MAIN_CLASSES.get(tool, tool)
    return subprocess.run(java_cmd(main, *args), input=input, capture_output=True,
                          text=True, timeout=timeout, stdin=None if input is not None
                          else subprocess.DEVNULL)


def topics(bootstrap, *args, timeout=120):
    """kafka-topics.sh --bootstrap-server BOOTSTRAP ARGS..."""
    return run_tool("topics", "--bootstrap-server", bootstrap, *args, timeout=timeout)


def leader_election(bootstrap, *args, timeout=120):
    """kafka-leader-election.sh --bootstrap-server BOOTSTRAP ARGS..."""
    return run_tool("leader-election", "--bootstrap-server", bootstrap, *args, timeout=timeout)


def console_producer(bootstrap, topic, lines, *args, timeout=120):
    """kafka-console-producer.sh: send each of `lines` as one record."""
    data = "".join(line + "\n" for line in lines)
    return run_tool("console-producer", "--bootstrap-server", bootstrap, "--topic", topic,
                    *args, input=data, timeout=timeout)


def console_consumer(bootstrap, topic, *args, max_messages=None, timeout_ms=10000,
                     timeout=120):
    """kafka-console-consumer.sh; returns the CompletedProcess (records in stdout)."""
    extra = ["--timeout-ms", str(timeout_ms)]
    if max_messages is not None:
        extra += ["--max-messages", str(max_messages)]
    return run_tool("console-consumer", "--bootstrap-server", bootstrap, "--topic", topic,
                    *extra, *args, timeout=timeout)
