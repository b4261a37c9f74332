package io.sluice.docs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bin/sluice's first start in a checkout, when it has to build: Maven's output (here a stand-in mvn that prints
 * what Maven 3.8 on JDK 25 prints: escape codes and JVM warnings) goes to target/sluice-build.log, and the user
 * sees one line saying so; when the build fails, its tail and where the log is. The stand-in "builds" by linking
 * this checkout's built gateway into place, so the launcher then really runs it.
 */
class LauncherIT {
    static final Path ROOT = Path.of(System.getProperty("sluice.root", "..")).toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    private record Run(int code, String out, String err) {
    }

    private Run sluice(Path checkout, boolean buildSucceeds, String... args) throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("fake-bin"));
        Path target = ROOT.resolve("runtime/target");
        Files.writeString(bin.resolve("mvn"), """
                #!/bin/sh
                printf '\\033[0m\\033[0mWARNING: A terminally deprecated method in sun.misc.Unsafe has been called\\n'
                echo "mvn $*"
                %s
                """.formatted(buildSucceeds ? """
                mkdir -p runtime/target
                for f in sluice-runtime.jar lib graal graal-compiler; do ln -sfn "%s/$f" "runtime/target/$f"; done
                exit 0""".formatted(target) : "echo '[ERROR] COMPILATION ERROR'; exit 1"));
        Files.setPosixFilePermissions(bin.resolve("mvn"), PosixFilePermissions.fromString("rwxr-xr-x"));
        List<String> cmd = new java.util.ArrayList<>(List.of(checkout.resolve("bin/sluice").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(checkout.toFile())
                .redirectOutput(tmp.resolve("out").toFile()).redirectError(tmp.resolve("err").toFile());
        pb.environment().put("PATH", bin + ":/usr/bin:/bin");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("SLUICE_HEAP", "256m");
        Process p = pb.start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return new Run(p.exitValue(), Files.readString(tmp.resolve("out")), Files.readString(tmp.resolve("err")));
    }

    private Path checkout() throws Exception {
        Path c = Files.createDirectories(tmp.resolve("checkout/bin"));
        for (String f : List.of("sluice", "jdk.sh")) {
            Files.copy(ROOT.resolve("bin/" + f), c.resolve(f));
        }
        Files.setPosixFilePermissions(c.resolve("sluice"), PosixFilePermissions.fromString("rwxr-xr-x"));
        return c.getParent();
    }

    @Test
    void aFirstBuildSaysOneLineAndKeepsMavenInALog() throws Exception {
        Path checkout = checkout();
        Run r = sluice(checkout, true, "version");
        assertEquals(0, r.code(), r.err());
        assertEquals("sluice 0.1.0\n", r.out());
        assertEquals("sluice: building (first run or sources changed; about a minute, log: target/sluice-build.log)"
                + "...\n", r.err());
        String log = Files.readString(checkout.resolve("target/sluice-build.log"));
        assertTrue(log.contains("mvn -B -Dstyle.color=never -q -DskipTests -Dsite.skip=true"), log);
        assertFalse(r.err().contains("\u001b"));
    }

    @Test
    void aFailedBuildShowsItsTailAndTheLog() throws Exception {
        Path checkout = checkout();
        Run r = sluice(checkout, false, "start");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("[ERROR] COMPILATION ERROR"), r.err());
        assertTrue(r.err().endsWith("sluice: the build failed; the whole log is "
                + checkout.resolve("target/sluice-build.log") + "\n"), r.err());
        assertEquals("", r.out());
    }
}
