package io.sluice.runtime.plugins;

import com.github.zafarkhaja.semver.Version;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.registry.admin.FilterArtifacts;
import io.sluice.registry.config.Problem;
import io.sluice.runtime.js.JsSandbox;
import io.sluice.runtime.js.JsScript;
import io.sluice.runtime.js.Quarantine;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The filters in a folder of artifacts as they would be uploaded ({@code *.jar} plugin jars, {@code *.js} /
 * {@code *.mjs} scripts), described offline the way an upload is inspected: a jar in a child JVM, a script in a
 * sandbox, each under the inspection deadline. For {@code sluice validate --plugins DIR}: a config that uses
 * uploaded filters is checked against their schemas without a gateway.
 */
public final class FilterDirectory {
    private FilterDirectory() {
    }

    /**
     * Describes every filter artifact in a folder (not its subfolders).
     *
     * @param dir      the folder
     * @param problems filled with {@code file: why} for each file that is not a usable filter
     * @return descriptors by filter name, newest version first
     */
    public static Map<String, List<FilterDescriptor>> read(Path dir, List<Problem> problems) {
        Map<String, List<FilterDescriptor>> out = new LinkedHashMap<>();
        Map<String, Path> seen = new LinkedHashMap<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile).filter(FilterDirectory::artifact).sorted().toList();
        } catch (IOException e) {
            problems.add(new Problem("", 0, "cannot read the plugins folder " + dir + ": " + e.getMessage()));
            return out;
        }
        Duration deadline = Duration.ofMillis(Long.getLong("sluice.inspect.deadline-ms", 10_000));
        JsSandbox sandbox = null;
        Path work = null;
        try {
            for (Path f : files) {
                String where = f.toString();
                try {
                    FilterDescriptor d;
                    byte[] content = Files.readAllBytes(f);
                    if (f.getFileName().toString().endsWith(".jar")) {
                        if (work == null) {
                            work = Files.createTempDirectory("sluice-validate");
                        }
                        d = new JarInspector(work, deadline).inspect(content);
                    } else {
                        if (sandbox == null) {
                            sandbox = new JsSandbox(0, Quarantine.defaults());   // inspection only: no workers
                        }
                        String text = StandardCharsets.UTF_8.newDecoder()
                                .decode(java.nio.ByteBuffer.wrap(content)).toString();
                        JsScript s = JsScript.inspect(sandbox, text, deadline);
                        d = s.descriptor();
                    }
                    Path before = seen.putIfAbsent(d.name() + "@" + d.version(), f);
                    if (before != null) {
                        problems.add(new Problem("", 0, where + ": " + d.name() + " " + d.version()
                                + " is also in " + before));
                        continue;
                    }
                    out.computeIfAbsent(d.name(), k -> new ArrayList<>()).add(d);
                } catch (FilterArtifacts.Invalid e) {
                    e.problems().forEach(p -> problems.add(new Problem("", 0, where + ": not a usable filter: "
                            + (p.path().isEmpty() ? "" : p.path() + ": ") + p.message())));
                } catch (FilterArtifacts.InspectionFailed e) {
                    problems.add(new Problem("", 0, where + ": " + e.getMessage()));
                } catch (CharacterCodingException e) {
                    problems.add(new Problem("", 0, where + ": the script is not UTF-8"));
                } catch (IOException e) {
                    problems.add(new Problem("", 0, where + ": cannot read: " + e.getMessage()));
                }
            }
        } finally {
            if (sandbox != null) {
                sandbox.close();
            }
            if (work != null) {
                JarInspector.deleteTree(work);
            }
        }
        out.values().forEach(l -> l.sort(Comparator.comparing((FilterDescriptor d) -> Version.parse(d.version()))
                .reversed()));
        return out;
    }

    private static boolean artifact(Path f) {
        String n = f.getFileName().toString();
        return n.endsWith(".jar") || n.endsWith(".js") || n.endsWith(".mjs");
    }
}
