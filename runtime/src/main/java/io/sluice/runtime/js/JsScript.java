package io.sluice.runtime.js;

import io.sluice.plugin.FilterDescriptor;
import io.sluice.registry.admin.FilterArtifacts;
import io.sluice.registry.admin.Secrets;
import io.sluice.registry.config.ConfigParser;
import io.sluice.registry.config.Problem;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.PolyglotException;
import io.sluice.plugin.js.JsModules;
import org.graalvm.polyglot.Source;
import org.graalvm.polyglot.SourceSection;
import org.graalvm.polyglot.Value;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

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
    private static final long INSPECT_STATEMENTS = 1_000_000;
    private static final long INSPECT_MEMORY_BYTES = 512L * 1024 * 1024;   // a first evaluation on a cold engine allocates tens of MiB itself

    /** @return {@code name@version} */
    public String key() {
        return name + "@" + version;
    }

    /** @return the descriptor the registry validates configs against */
    public FilterDescriptor descriptor() {
        return new FilterDescriptor(name, version, schema, description);
    }

    /**
     * Compiles and evaluates a script once in a fresh sandboxed context, and reads its exports. The evaluation
     * runs on its own platform thread under a wall-clock deadline and an allocation budget (the statement limit
     * alone does not stop one huge allocation or a slow regular expression); the caller only waits.
     *
     * @param sandbox  the engine
     * @param text     the module source
     * @param deadline how long evaluating it may take
     * @return the inspected script
     * @throws FilterArtifacts.Invalid syntax errors (with line and column), a failing top level, missing/bad
     *                                 exports, or a top level allocating past the budget
     * @throws FilterArtifacts.InspectionFailed 422 {@code inspection_timeout} when it ran past the deadline
     */
    public static JsScript inspect(JsSandbox sandbox, String text, Duration deadline)
            throws FilterArtifacts.Invalid, FilterArtifacts.InspectionFailed {
        Context c = sandbox.newContext(INSPECT_STATEMENTS);
        JsScript[] result = new JsScript[1];
        Exception[] failed = new Exception[1];
        Optional<BudgetExceeded.Kind> breach = sandbox.bounded(c, () -> {
            try {
                result[0] = evaluate(sandbox, c, text);
            } catch (FilterArtifacts.Invalid | RuntimeException e) {
                failed[0] = e;
            }
        }, deadline, INSPECT_MEMORY_BYTES);
        if (breach.isPresent() && breach.get() == BudgetExceeded.Kind.MEMORY) {
            throw new FilterArtifacts.Invalid(List.of(new Problem("", 0, "top level allocated more than "
                    + INSPECT_MEMORY_BYTES / (1024 * 1024) + " MiB")));
        }
        if (breach.isPresent()) {
            throw new FilterArtifacts.InspectionFailed(422, "inspection_timeout", "the script's top level did not"
                    + " finish within " + deadline.toMillis() + " ms; it was cancelled and nothing was stored");
        }
        if (failed[0] instanceof FilterArtifacts.Invalid e) {
            throw e;
        }
        if (failed[0] instanceof RuntimeException e) {
            throw e;
        }
        return result[0];
    }

    private static JsScript evaluate(JsSandbox sandbox, Context c, String text) throws FilterArtifacts.Invalid {
        String sha = Secrets.hash(text).substring("sha256:".length());
        Source source = JsModules.module(text, "filter-" + sha.substring(0, 12) + ".mjs");
        try {
            sandbox.prelude(c);
            Value module;
            try {
                module = c.eval(source);
            } catch (PolyglotException e) {
                throw new FilterArtifacts.Invalid(List.of(problem(e)));
            }
            List<JsModules.Issue> issues = new ArrayList<>();
            JsModules.Exports x = JsModules.exports(c, module, issues);
            List<Problem> problems = new ArrayList<>();
            issues.forEach(i -> problems.add(new Problem(i.path(), 0, i.message())));
            if (x != null) {
                ConfigParser.schemaProblems(x.schema()).forEach(m -> problems.add(new Problem("schema", 0, m)));
            }
            if (!problems.isEmpty()) {
                throw new FilterArtifacts.Invalid(problems);
            }
            return new JsScript(x.name(), x.version(), x.description(), x.schema(), sha, source, x.hasOnResponse(),
                    x.requestBody(), x.responseBody());
        } finally {
            c.close(true);
        }
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



}
