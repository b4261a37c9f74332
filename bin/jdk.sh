# Sourced by bin/* and .ci/run: finds a JDK >= 25 and exports JAVA_HOME, or explains what is missing.
# Order: JAVA_HOME if it is new enough, then the newest JDK under /usr/lib/jvm.

sluice_java_major() {
    # prints the major version of the JDK at $1, or nothing
    local rel="$1/release"
    [ -x "$1/bin/java" ] || return 1
    if [ -f "$rel" ]; then
        sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$rel"
    else
        "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1
    fi
}

sluice_find_jdk() {
    local need=25 best="" best_major=0 candidate major
    if [ -n "${JAVA_HOME:-}" ]; then
        major=$(sluice_java_major "$JAVA_HOME" || true)
        if [ -n "$major" ] && [ "$major" -ge "$need" ]; then
            echo "$JAVA_HOME"
            return 0
        fi
    fi
    for candidate in /usr/lib/jvm/*; do
        [ -d "$candidate" ] || continue
        major=$(sluice_java_major "$candidate" || true)
        if [ -n "$major" ] && [ "$major" -ge "$need" ] && [ "$major" -gt "$best_major" ]; then
            best="$candidate"
            best_major="$major"
        fi
    done
    if [ -n "$best" ]; then
        echo "$best"
        return 0
    fi
    echo "sluice: needs a JDK $need or newer, found none (JAVA_HOME=${JAVA_HOME:-unset}; nothing suitable in /usr/lib/jvm)." >&2
    echo "sluice: install one (for example Temurin 25 into /usr/lib/jvm) or point JAVA_HOME at it." >&2
    return 1
}

sluice_use_jdk() {
    local jdk
    jdk=$(sluice_find_jdk) || exit 1
    export JAVA_HOME="$jdk"
    export PATH="$JAVA_HOME/bin:$PATH"
}

sluice_mvn() {
    if ! command -v mvn >/dev/null 2>&1; then
        echo "sluice: Maven (mvn, 3.8 or newer) is needed to build; install it (apt-get install maven)." >&2
        exit 1
    fi
    # -B: no colours or progress bars; the flag keeps JDK 25 from warning about the sun.misc.Unsafe use of
    # Maven's own Guava
    MAVEN_OPTS="--sun-misc-unsafe-memory-access=allow ${MAVEN_OPTS:-}" mvn -B -Dstyle.color=never "$@"
}

# The JVM flags that give GraalJS its optimizing compiler (JavaScript filters ~50x faster than interpreted): the
# Graal jars on the module path, the compiler on the upgrade module path, JVMCI switched on. Sets SLUICE_GRAAL.
# $1: the folder holding graal/ and graal-compiler/ (runtime/target in a checkout, lib in a release archive).
sluice_graal_flags() {
    local dir="$1"
    SLUICE_GRAAL=(-XX:+UnlockExperimentalVMOptions -XX:+EnableJVMCI
        --module-path "$dir/graal" --add-modules org.graalvm.polyglot
        --upgrade-module-path "$dir/graal-compiler"
        --enable-native-access=org.graalvm.truffle --sun-misc-unsafe-memory-access=allow)
}
