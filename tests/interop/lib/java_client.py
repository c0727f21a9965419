"""The interop tests' own Java programs (tests/interop/java/*.java), run with
the Kafka jars of tools/kafka-jars.sh on the class path.

    err = compile_java()          # None, or javac's output
    res = run_java("AdminCreateTopic", bootstrap, "t", "3", "1")

compile_java() compiles every source into build/interop-java/ and does it
again only when a source is newer than the last compile; run_java() runs one
main class with a bound and returns the CompletedProcess (text output).
"""

import glob
import os
import subprocess

from broker import ROOT, ensure_kafka_jars

HERE = os.path.dirname(os.path.abspath(__file__))
JAVA_SRC = os.path.join(os.path.dirname(HERE), "java")
CLASSES = os.path.join(ROOT, "build", "interop-java")
LOG4J = os.path.join(HERE, "tools-log4j.properties")
COMPILE_TIMEOUT_S = 300


def compile_java():
    """javac the sources into build/interop-java unless the classes are current."""
    jars = ensure_kafka_jars()
    sources = sorted(glob.glob(os.path.join(JAVA_SRC, "*.java")))
    stamp = os.path.join(CLASSES, ".stamp")
    newest = max(os.path.getmtime(s) for s in sources)
    if os.path.exists(stamp) and os.path.getmtime(stamp) >= newest:
        return None
    os.makedirs(CLASSES, exist_ok=True)
    res = subprocess.run(["javac", "-d", CLASSES, "-cp", os.path.join(jars, "*"), *sources],
                         capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
    if res.returncode != 0:
        return res.stdout + res.stderr
    with open(stamp, "w") as f:
        f.write("compiled\n")
    return None


def run_java(main_class, *args, heap="512m", timeout=600):
    """Runs one of the compiled programs; the CompletedProcess."""
    jars = ensure_kafka_jars()
    cmd = ["java", f"-Xmx{heap}", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
           f"-Dlog4j.configuration=file:{LOG4J}",
           "-cp", CLASSES + os.pathsep + os.path.join(jars, "*"), main_class, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
