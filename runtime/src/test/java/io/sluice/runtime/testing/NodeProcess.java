package io.sluice.runtime.testing;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A standalone node in a fresh JVM, started from this module's test class path the way bin/sluice starts it (GraalJS
 * and its compiler on the module paths): for what only a new process shows, such as code that is cold after a start.
 * The test JVM itself is warm from the tests before.
 */
public final class NodeProcess implements AutoCloseable {
    private static final Pattern LISTENER = Pattern.compile("^\\s*(proxy|admin):\\s+http://[^:]+:(\\d+)");

    private final Process process;
    private final int proxyPort;
    private final int adminPort;
    private final List<String> output;

    private NodeProcess(Process process, int proxyPort, int adminPort, List<String> output) {
        this.process = process;
        this.proxyPort = proxyPort;
        this.adminPort = adminPort;
        this.output = output;
    }

    /**
     * @param dataDir  its data directory
     * @param token    its platform admin token (SLUICE_ADMIN_TOKEN)
     * @param jvmFlags more JVM flags, such as {@code -Dsluice.js.workers=2}
     * @return the node, once both listeners are up
     */
    public static NodeProcess start(Path dataDir, String token, String... jvmFlags) throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> classPath = new ArrayList<>();
        List<String> modules = new ArrayList<>();
        List<String> upgrade = new ArrayList<>();
        for (String e : cp.split(File.pathSeparator)) {
            String u = e.replace(File.separatorChar, '/');
            if (u.contains("/org/graalvm/compiler/")) {
                upgrade.add(e);
            } else if (u.contains("/org/graalvm/")) {
                modules.add(e);
            } else {
                classPath.add(e);
            }
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-XX:+UseSerialGC",
                "-XX:+UnlockExperimentalVMOptions", "-XX:+EnableJVMCI",
                "--module-path", String.join(File.pathSeparator, modules), "--add-modules", "org.graalvm.polyglot",
                "--upgrade-module-path", String.join(File.pathSeparator, upgrade),
                "--enable-native-access=org.graalvm.truffle", "--sun-misc-unsafe-memory-access=allow",
                // as bin/sluice: ReadAhead, and JavaScript filters on request threads (js/OnCarrier)
                "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-exports=java.base/jdk.internal.vm=ALL-UNNAMED"));
        cmd.addAll(List.of(jvmFlags));
        cmd.addAll(List.of("-cp", String.join(File.pathSeparator, classPath), "io.sluice.runtime.Main", "start",
                "--data-dir", dataDir.toString(), "--proxy-host", "127.0.0.1", "--proxy-port", "0",
                "--admin-port", "0"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("SLUICE_ADMIN_TOKEN", token);
        Process p = pb.start();
        CompletableFuture<Integer> proxy = new CompletableFuture<>();
        CompletableFuture<Integer> admin = new CompletableFuture<>();
        List<String> output = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    output.add(line);
                    Matcher m = LISTENER.matcher(line);
                    if (m.find()) {
                        (m.group(1).equals("proxy") ? proxy : admin).complete(Integer.parseInt(m.group(2)));
                    }
                }
            } catch (IOException e) {
                // ended
            }
            proxy.completeExceptionally(new IllegalStateException("the node ended: " + output));
            admin.completeExceptionally(new IllegalStateException("the node ended: " + output));
        });
        try {
            return new NodeProcess(p, proxy.get(180, TimeUnit.SECONDS), admin.get(60, TimeUnit.SECONDS), output);
        } catch (Exception e) {
            p.destroyForcibly();
            throw new AssertionError("the node did not start: " + output, e);
        }
    }

    public int proxyPort() {
        return proxyPort;
    }

    public int adminPort() {
        return adminPort;
    }

    /** @return what it printed so far */
    public List<String> output() {
        synchronized (output) {
            return List.copyOf(output);
        }
    }

    @Override
    public void close() throws InterruptedException {
        List<ProcessHandle> children = process.descendants().toList();
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        children.forEach(ProcessHandle::destroyForcibly);
    }
}
