package io.sluice.docs;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Shell blocks of the docs run as a reader pastes them: in document order, in one {@code bash -euo pipefail}
 * session in a folder. The session runs under {@code setsid}, a process group of its own, and that group is killed
 * when the session ends (or times out), so whatever a block leaves running in the background ({@code cmd &}) goes
 * with it. {@code curl} fails on an HTTP error status (as with {@code --fail-with-body}; a command that gives
 * {@code -f} itself is left alone), so a refused example fails the session. Each line of the script knows its
 * page:line, so a failure is reported where it is in the docs, with the end of the session's output.
 */
final class ShellSession {
    private static final Pattern FAILED = Pattern.compile("^__docs_failed__ (\\d+) (\\d+)$", Pattern.MULTILINE);

    private final String name;
    private final Path script;
    private final List<String> lines = new ArrayList<>();
    private final List<String> where = new ArrayList<>();   // each script line's page:line; null for the test's own
    private final Map<String, String> env = new LinkedHashMap<>();
    private final List<Path> path = new ArrayList<>();

    /**
     * @param name   what runs (a page, "README.md quickstart"), the failure's place when no line is known
     * @param script where the script is written; the output goes next to it (.log for .sh)
     */
    ShellSession(String name, Path script) {
        this.name = name;
        this.script = script;
        line(null, "# " + name + ": shell examples of the docs, as a reader pastes them (bash -euo pipefail)");
        line(null, "shopt -s inherit_errexit");
        line(null, "trap 'printf \"\\n__docs_failed__ %s %s\\n\" $LINENO $? >&2' ERR");
    }

    /** Adds a block, as {@code rewrite} makes its text (line for line: page:line stays right). */
    ShellSession block(DocBlocks.Block b, UnaryOperator<String> rewrite) {
        line(b.at(-1), "printf '\\n### %s\\n' '" + b.at(-1) + "'");
        String[] text = rewrite.apply(b.text()).split("\n", -1);
        for (int i = 0; i < text.length; i++) {
            line(b.at(i) + " (in the block of line " + b.line() + ")", text[i]);
        }
        return this;
    }

    /** An environment variable for the session, as a reader who followed the docs has it. */
    ShellSession env(String variable, String value) {
        env.put(variable, value);
        return this;
    }

    /** A folder put first on the session's PATH. */
    ShellSession path(Path dir) {
        path.add(dir);
        return this;
    }

    /**
     * What a session printed (standard output and error), and why it failed: page:line of the failing command,
     * its exit status, where the script and output are, and the output's end.
     */
    record Result(String output, Optional<String> failure) {
    }

    /** Runs the session in {@code dir}, for at most {@code timeout}; its process group is killed either way. */
    Result run(Path dir, Duration timeout) throws IOException, InterruptedException {
        Files.writeString(script, String.join("\n", lines) + "\n");
        Path log = script.resolveSibling(script.getFileName().toString().replaceFirst("\\.sh$", "") + ".log");
        // a child of the JVM is no process group leader, so setsid execs bash: the session's pid is its group's id
        ProcessBuilder pb = new ProcessBuilder("setsid", "bash", "-euo", "pipefail", script.toString())
                .directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Map<String, String> e = pb.environment();
        e.keySet().removeIf(k -> k.startsWith("SLUICE_") || k.startsWith("MAVEN_"));
        List<String> bins = new ArrayList<>();
        path.forEach(p -> bins.add(p.toString()));
        bins.add(curlWrapper(script.resolveSibling("bin")).toString());
        bins.add(Path.of(System.getProperty("java.home"), "bin").toString());
        bins.add("/usr/local/bin:/usr/bin:/bin");
        e.put("PATH", String.join(":", bins));
        e.put("JAVA_HOME", System.getProperty("java.home"));
        e.put("LC_ALL", "C.UTF-8");
        e.putAll(env);
        Process p = pb.start();
        boolean done;
        try {
            done = p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS);
        } finally {
            killGroup(p.pid());
        }
        String out = Files.readString(log);
        if (done && p.exitValue() == 0) {
            return new Result(out, Optional.empty());
        }
        String at = name;
        String status = done ? "exit status " + p.exitValue() : "did not finish within " + timeout.toSeconds() + " s";
        Matcher m = FAILED.matcher(out);
        if (m.find()) {
            int line = Integer.parseInt(m.group(1));
            at = line - 1 < where.size() && where.get(line - 1) != null ? where.get(line - 1) : name;
            status = "exit status " + m.group(2);
        }
        List<String> tail = out.lines().toList();
        return new Result(out, Optional.of(at + ": " + status + " (script " + script + ", output " + log
                + "); output's end:\n  " + String.join("\n  ", tail.subList(Math.max(0, tail.size() - 15),
                tail.size()))));
    }

    private void line(String at, String text) {
        lines.add(text);
        where.add(at);
    }

    /** SIGTERM to every process of the group, SIGKILL to what is left of it after 20 s. */
    private static void killGroup(long pgid) throws IOException, InterruptedException {
        if (!kill("-TERM", pgid)) {
            return;   // nothing left
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (kill("-0", pgid) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        kill("-KILL", pgid);
    }

    /** {@code kill SIGNAL -- -PGID}: whether any process of the group was there to signal. */
    private static boolean kill(String signal, long pgid) throws IOException, InterruptedException {
        Process k = new ProcessBuilder("kill", signal, "--", "-" + pgid).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        return k.waitFor() == 0;
    }

    /**
     * A folder whose {@code curl} is the real one, failing on an HTTP error status ({@code --fail-with-body}) unless
     * the command gives {@code -f}/{@code --fail} itself; a script rather than a shell function, so that the
     * session's ERR trap names the line of the failing command.
     */
    private static Path curlWrapper(Path bin) throws IOException {
        if (Files.exists(bin.resolve("curl"))) {
            return bin;
        }
        String real = Stream.of("/usr/local/bin/curl", "/usr/bin/curl", "/bin/curl")
                .filter(f -> Files.isExecutable(Path.of(f))).findFirst()
                .orElseThrow(() -> new AssertionError("the docs' examples need curl"));
        Files.createDirectories(bin);
        Files.writeString(bin.resolve("curl"), """
                #!/usr/bin/env bash
                for a in "$@"; do
                    if [[ $a == --fail* || ( $a == -[!-]* && $a == *f* ) ]]; then
                        exec %s --max-time 30 "$@"
                    fi
                done
                exec %s --max-time 30 --fail-with-body "$@"
                """.formatted(real, real));
        Files.setPosixFilePermissions(bin.resolve("curl"), PosixFilePermissions.fromString("rwxr-xr-x"));
        return bin;
    }
}
