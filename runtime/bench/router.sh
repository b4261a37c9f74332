#!/usr/bin/env bash
# JMH benchmark of the router: lookup time with 10 and with 10,000 routes.
#   runtime/bench/router.sh            # 3 forks x 5 iterations of 2 s, after 3 warm-up iterations
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
. "$ROOT/bin/jdk.sh"
sluice_use_jdk
cd "$ROOT"
sluice_mvn -q -DskipTests install
sluice_mvn -q -pl runtime dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test.classpath
CP="runtime/target/test-classes:runtime/target/classes:$(cat runtime/target/test.classpath)"
mkdir -p "$HERE/out"
"$JAVA_HOME/bin/java" -cp "$CP" org.openjdk.jmh.Main RouterBenchmark -f "${FORKS:-3}" -wi 3 -w 2s -i 5 -r 2s \
    -rf text -rff "$HERE/out/router.txt" "$@"
cat "$HERE/out/router.txt"
