package io.sluice.runtime.js;

import io.sluice.plugin.FilterDescriptor;
import io.sluice.registry.admin.FilterArtifacts;
import io.sluice.registry.admin.Secrets;
import io.sluice.registry.config.ConfigParser;
import io.sluice.registry.config.Problem;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.PolyglotException;
import org.graalvm.polyglot.Source;
import org.graalvm.polyglot.SourceSection;
import org.graalvm.polyglot.Value;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * An uploaded JavaScript filter, inspected: an ES module whose default export has {@code name}, {@code version},
 * {@code schema}, {@code onRequest} and optionally {@code onResponse}, {@code description},
 * {@code requestBody: true} / {@code responseBody: true} (buffer bodies for the script). The {@link Source} is kept so
 * that every context of the shared engine reuses its parsed and compiled code.
 *
 * @param name              filter name
 * @param version           semantic version
 * @param description       one line
 * @param schema            JSON Schema of the config
 * @param sha256            hex digest of the source text
 * @param source            the module
 * @param hasOnResponse     whether it has a response phase
 * @param readsRequestBody  whether it asked for the request body
 * @param readsResponseBody whether it asked for the response body
 */
public record JsScript(String name, String version, String description, String schema, String sha256, Source source,
                       boolean hasOnResponse, boolean readsRequestBody, boolean readsResponseBody) {
    /** Filter names: kebab-case. */
    public static final Pattern NAME = Pattern.compile("^[a-z][a-z0-9]*(-[a-z0-9]+)*$");
    /** Versions: semantic versioning 2.0 (no build metadata). */
    public static final Pattern VERSION = Pattern.compile(
            "^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(-[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?$");
    private static final long INSPECT_STATEMENTS = 1_000_000;

    /** @return {@code name@version} */
    public String key() {
        return name + "@" + version;
    }

    /** @return the descriptor the registry validates configs against */
    public FilterDescriptor descriptor() {
        return new FilterDescriptor(name, version, schema, description);
    }

    /**
     * Compiles and evaluates a script once in a fresh sandboxed context, and reads its exports.
     *
     * @param sandbox the engine
     * @param text    the module source
     * @return the inspected script
     * @throws FilterArtifacts.Invalid syntax errors (with line and column), a failing top level, or missing/bad exports
     */
    public static JsScript inspect(JsSandbox sandbox, String text) throws FilterArtifacts.Invalid {
        String sha = Secrets.hash(text).substring("sha256:".length());
        Source source = Source.newBuilder("js", text, "filter-" + sha.substring(0, 12) + ".mjs")
                .mimeType("application/javascript+module").buildLiteral();
        Context c = sandbox.newContext(INSPECT_STATEMENTS);
        try {
            sandbox.prelude(c);
            Value exports;
            try {
                exports = c.eval(source).getMember("default");
            } catch (PolyglotException e) {
                throw new FilterArtifacts.Invalid(List.of(problem(e)));
            }
            if (exports == null || !exports.hasMembers()) {
                throw invalid("", "the module must `export default { name, version, schema, onRequest }`");
            }
            List<Problem> problems = new ArrayList<>();
            String name = string(exports, "name", problems);
            String version = string(exports, "version", problems);
            if (name != null && !NAME.matcher(name).matches()) {
                problems.add(new Problem("name", 0, "name must be kebab-case (a-z, 0-9, '-'), got '" + name + "'"));
            }
            if (version != null && !VERSION.matcher(version).matches()) {
                problems.add(new Problem("version", 0, "version must be semantic (1.2.3), got '" + version + "'"));
            }
            Value schemaValue = exports.getMember("schema");
            String schema = null;
            if (schemaValue == null || !schemaValue.hasMembers()) {
                problems.add(new Problem("schema", 0, "schema (a JSON Schema object for the config) is required"));
            } else {
                schema = c.getBindings("js").getMember("JSON").getMember("stringify").execute(schemaValue).asString();
                ConfigParser.schemaProblems(schema).forEach(m -> problems.add(new Problem("schema", 0, m)));
            }
            if (!function(exports, "onRequest")) {
                problems.add(new Problem("onRequest", 0, "onRequest(ctx, conf) must be a function"));
            }
            Value onResponse = exports.getMember("onResponse");
            if (onResponse != null && !onResponse.isNull() && !onResponse.canExecute()) {
                problems.add(new Problem("onResponse", 0, "onResponse must be a function when present"));
            }
            if (!problems.isEmpty()) {
                throw new FilterArtifacts.Invalid(problems);
            }
            Value description = exports.getMember("description");
            return new JsScript(name, version,
                    description != null && description.isString() ? description.asString() : "JavaScript filter " + name,
                    schema, sha, source, function(exports, "onResponse"),
                    flag(exports, "requestBody"), flag(exports, "responseBody"));
        } finally {
            c.close(true);
        }
    }

    private static FilterArtifacts.Invalid invalid(String path, String message) {
        return new FilterArtifacts.Invalid(List.of(new Problem(path, 0, message)));
    }

    private static Problem problem(PolyglotException e) {
        SourceSection at = e.getSourceLocation();
        String kind = e.isSyntaxError() ? "syntax error" : e.isResourceExhausted() ? "top level ran too long"
                : "top level failed";
        if (at != null && at.isAvailable()) {
            return new Problem("", at.getStartLine(), kind + " at line " + at.getStartLine() + ", column "
                    + at.getStartColumn() + ": " + e.getMessage());
        }
        return new Problem("", 0, kind + ": " + e.getMessage());
    }

    private static String string(Value exports, String key, List<Problem> problems) {
        Value v = exports.getMember(key);
        if (v == null || !v.isString()) {
            problems.add(new Problem(key, 0, key + " (a string) is required"));
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
}
