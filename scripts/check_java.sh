#!/usr/bin/env bash
# Spark 4 needs Java 17 or 21 on PATH (or JAVA_HOME); say so plainly instead of failing inside py4j.
set -euo pipefail
java_bin=${JAVA_HOME:+$JAVA_HOME/bin/}java
if ! command -v "$java_bin" >/dev/null 2>&1; then
  echo "Java not found: Spark 4 needs Java 17 or 21 (Debian: apt-get install -y openjdk-17-jre-headless)" >&2
  exit 1
fi
version=$("$java_bin" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
if [ -z "$version" ] || [ "$version" -lt 17 ]; then
  echo "Java $version found, Spark 4 needs 17 or 21" >&2
  exit 1
fi
