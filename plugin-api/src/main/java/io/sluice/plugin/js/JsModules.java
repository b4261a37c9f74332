package io.sluice.plugin.js;

import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.Headers;
import io.sluice.plugin.Outcome;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.Engine;
import org.graalvm.polyglot.HostAccess;
import org.graalvm.polyglot.ResourceLimits;
import org.graalvm.polyglot.SandboxPolicy;
import org.graalvm.polyglot.Source;
import org.graalvm.polyglot.Value;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.function.Predicate;

/**
 * How a JavaScript filter module is run, shared by the gateway and the testkit so that a filter behaves the same
 * in a unit test as in production: the sandboxed engine and context settings, the prelude that builds {@code ctx}
 * and locks the global scope down, and the conversion of what a phase returns into an {@link Outcome}.
 * Needs {@code org.graalvm.polyglot:polyglot} and {@code js-community} on the class path (optional dependencies of
 * plugin-api: only JavaScript users need them).
 */
public final class JsModules {
    /** The prelude's source name; its statements do not count against a filter's budget. */
    public static final String PRELUDE_NAME = "sluice-prelude.js";
    /** Counts only the filter's own statements; one instance for every context of an engine, as GraalJS requires. */
    private static final Predicate<Source> COUNTED = s -> !s.isInternal() && !PRELUDE_NAME.equals(s.getName());
    private static final String PRELUDE_TEXT = resource("prelude.js");

    private JsModules() {
    }

    /** @return a new engine with the sandbox policy every context uses */
    public static Engine engine() {
        return Engine.newBuilder("js")
                .sandbox(SandboxPolicy.CONSTRAINED)
                .out(OutputStream.nullOutputStream())
                .err(OutputStream.nullOutputStream())
                .option("engine.WarnInterpreterOnly", "false")
                .build();
    }

    /**
     * A new sandboxed context: no host access beyond {@link JsHost}'s exported methods, no I/O, and a statement
     * limit counting only the filter's statements.
     *
     * @param engine         the shared engine
     * @param statementLimit statements allowed between {@link Context#resetLimits()} calls
     * @return the context
     */
    public static Context context(Engine engine, long statementLimit) {
        return Context.newBuilder("js")
                .engine(engine)
                .sandbox(SandboxPolicy.CONSTRAINED)
                .allowHostAccess(HostAccess.CONSTRAINED)
                .out(OutputStream.nullOutputStream())
                .err(OutputStream.nullOutputStream())
                .option("js.esm-eval-returns-exports", "true")
                .resourceLimits(ResourceLimits.newBuilder().statementLimit(statementLimit, COUNTED).build())
                .build();
    }

    /** @return the prelude's source (cache it: sources are compiled once per engine) */
    public static Source prelude() {
        return Source.newBuilder("js", PRELUDE_TEXT, PRELUDE_NAME).buildLiteral();
    }

    /**
     * A filter module's source.
     *
     * @param text the module
     * @param name its file name
     * @return the source
     */
    public static Source module(String text, String name) {
        return Source.newBuilder("js", text, name).mimeType("application/javascript+module").buildLiteral();
    }

    /**
     * What a phase returned, as plain host values.
     *
     * @param r the prelude's {@code invoke} result
     * @return null to proceed, or {@code [status, body, name, value, ...]}
     */
    public static Object[] toArray(Value r) {
        if (r.isNull()) {
            return null;
        }
        Object[] out = new Object[(int) r.getArraySize()];
        out[0] = r.getArrayElement(0).asInt();
        for (int i = 1; i < out.length; i++) {
            out[i] = r.getArrayElement(i).asString();
        }
        return out;
    }

    /**
     * The outcome of a phase.
     *
     * @param r {@link #toArray(Value)}'s result
     * @return proceed, or the response the filter answered with
     */
    public static Outcome outcome(Object[] r) {
        if (r == null) {
            return Outcome.proceed();
        }
        Headers h = new Headers();
        for (int i = 2; i + 1 < r.length; i += 2) {
            h.add((String) r[i], (String) r[i + 1]);
        }
        return new Outcome.Respond((Integer) r[0], h, ((String) r[1]).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * What a filter module's default export declares.
     *
     * @param name          filter name
     * @param version       semantic version
     * @param description   one line
     * @param schema        JSON Schema of the config, as JSON text
     * @param hasOnResponse whether it has a response phase
     * @param requestBody   whether it asked for the request body
     * @param responseBody  whether it asked for the response body
     */
    public record Exports(String name, String version, String description, String schema, boolean hasOnResponse,
                          boolean requestBody, boolean responseBody) {
    }

    /**
     * Something wrong with a module's exports.
     *
     * @param path    the export ({@code name}, {@code schema}, ...; empty for the module)
     * @param message what is wrong
     */
    public record Issue(String path, String message) {
    }

    /**
     * Reads and checks a module's default export: {@code name} (kebab-case), {@code version} (semver),
     * {@code schema} (an object), {@code onRequest} (a function), and the optional {@code onResponse},
     * {@code description}, {@code requestBody}, {@code responseBody}.
     *
     * @param c       the context the module was evaluated in
     * @param module  what evaluating the module returned
     * @param issues  receives what is wrong
     * @return the exports, or null when there are issues
     */
    public static Exports exports(Context c, Value module, java.util.List<Issue> issues) {
        Value exports = module == null ? null : module.getMember("default");
        if (exports == null || !exports.hasMembers()) {
            issues.add(new Issue("", "the module must `export default { name, version, schema, onRequest }`"));
            return null;
        }
        String name = string(exports, "name", issues);
        String version = string(exports, "version", issues);
        if (name != null && !FilterDescriptor.isName(name)) {
            issues.add(new Issue("name", "name must be kebab-case (a-z, 0-9, '-'), got '" + name + "'"));
        }
        if (version != null && !FilterDescriptor.isVersion(version)) {
            issues.add(new Issue("version", "version must be semantic (1.2.3), got '" + version + "'"));
        }
        Value schemaValue = exports.getMember("schema");
        String schema = null;
        if (schemaValue == null || !schemaValue.hasMembers()) {
            issues.add(new Issue("schema", "schema (a JSON Schema object for the config) is required"));
        } else {
            schema = c.getBindings("js").getMember("JSON").getMember("stringify").execute(schemaValue).asString();
        }
        if (!function(exports, "onRequest")) {
            issues.add(new Issue("onRequest", "onRequest(ctx, conf) must be a function"));
        }
        Value onResponse = exports.getMember("onResponse");
        if (onResponse != null && !onResponse.isNull() && !onResponse.canExecute()) {
            issues.add(new Issue("onResponse", "onResponse must be a function when present"));
        }
        if (!issues.isEmpty()) {
            return null;
        }
        Value description = exports.getMember("description");
        return new Exports(name, version,
                description != null && description.isString() ? description.asString() : "JavaScript filter " + name,
                schema, function(exports, "onResponse"), flag(exports, "requestBody"), flag(exports, "responseBody"));
    }

    private static String string(Value exports, String key, java.util.List<Issue> issues) {
        Value v = exports.getMember(key);
        if (v == null || !v.isString()) {
            issues.add(new Issue(key, key + " (a string) is required"));
            return null;
        }
        return v.asString();
    }

    private static boolean function(Value exports, String key) {
        Value v = exports.getMember(key);
        return v != null && v.canExecute();
    }

    private static boolean flag(Value exports, String key) {
        Value v = exports.getMember(key);
        return v != null && v.isBoolean() && v.asBoolean();
    }

    private static String resource(String name) {
        try (InputStream in = JsModules.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
