package io.sluice.runtime.plugins;

import io.sluice.plugin.FilterDescriptor;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * The child process {@link JarInspector} starts to inspect an uploaded jar: loads it with {@link PluginJar}, the way
 * a data plane will, and writes one result line to standard output, {@code sluice-inspect: {json}}, then halts.
 * Its class path holds only plugin-api, pf4j (with slf4j-api) and these classes; it runs with an empty environment.
 *
 * <p>Needs only the JDK, pf4j and plugin-api (see {@link PluginJar}).
 */
public final class JarInspectorMain {
    /** Prefix of the result line. */
    static final String RESULT = "sluice-inspect: ";

    private JarInspectorMain() {
    }

    /**
     * @param args the jar's path
     */
    public static void main(String[] args) {
        // the plugin's own printing goes to stderr, so it cannot be taken for the result
        PrintStream result = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        System.setOut(System.err);
        String line;
        try (PluginJar jar = PluginJar.load(Path.of(args[0]))) {
            FilterDescriptor d = jar.descriptor();
            line = "{\"name\":" + quote(d.name()) + ",\"version\":" + quote(d.version()) + ",\"schema\":"
                    + quote(d.schema()) + ",\"description\":" + quote(d.description()) + "}";
        } catch (PluginJar.Refused e) {
            line = problems(e.problems());
        } catch (Throwable e) {   // the plugin's code may throw anything, errors included
            line = problems(List.of("the plugin does not load: " + e));
        }
        result.println(RESULT + line);
        result.flush();
        Runtime.getRuntime().halt(0);   // no shutdown hooks or non-daemon threads of the plugin's
    }

    private static String problems(List<String> problems) {
        StringBuilder b = new StringBuilder("{\"problems\":[");
        for (int i = 0; i < problems.size(); i++) {
            b.append(i == 0 ? "" : ",").append(quote(problems.get(i)));
        }
        return b.append("]}").toString();
    }

    /** A JSON string, ASCII only (the child's locale is unknown). */
    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || c > 0x7e) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
