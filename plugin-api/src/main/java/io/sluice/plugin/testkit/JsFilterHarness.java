package io.sluice.plugin.testkit;

import io.sluice.plugin.Exchange;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.js.JsHost;
import io.sluice.plugin.js.JsModules;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.Engine;
import org.graalvm.polyglot.PolyglotException;
import org.graalvm.polyglot.Source;
import org.graalvm.polyglot.Value;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a JavaScript filter module in a unit test, without a gateway: the same sandbox settings, the same
 * {@code ctx} and the same handling of what a phase returns as the gateway uses, over a {@link TestExchange}.
 * Each phase may run {@value #STATEMENTS} statements, so a runaway loop fails the test instead of hanging it.
 * (The gateway also bounds wall-clock time and allocation; those need its worker threads.)
 *
 * <pre>{@code
 * try (JsFilterHarness f = JsFilterHarness.load(Path.of("src/main/js/tagger.js"))) {
 *     TestExchange ex = TestExchange.request("GET", "/orders");
 *     assertEquals(Outcome.proceed(), f.onRequest(ex, "{\"value\": \"a\"}"));
 *     assertEquals("a", ex.request().headers().firstOrNull("x-tag"));
 * }
 * }</pre>
 *
 * Needs {@code org.graalvm.polyglot:polyglot} and {@code org.graalvm.polyglot:js-community} (type pom) on the
 * test class path.
 */
public final class JsFilterHarness implements AutoCloseable {
    /** Statements one phase may run. */
    public static final long STATEMENTS = 1_000_000;
    private final Engine engine;
    private final Source prelude = JsModules.prelude();
    private final Source source;
    private final String fileName;
    private Context context;
    private Value invoke;
    private Value onRequest;
    private Value onResponse;
    private JsModules.Exports exports;

    private JsFilterHarness(String text, String fileName) {
        engine = JsModules.engine();
        this.fileName = fileName;
        this.source = JsModules.module(text, fileName);
        start();
    }

    /** Evaluates the prelude and the module in a new context (again after a breach, as the gateway does). */
    private void start() {
        context = JsModules.context(engine, STATEMENTS);
        try {
            invoke = context.eval(prelude).execute();
            Value module;
            try {
                module = context.eval(source);
            } catch (PolyglotException e) {
                throw new IllegalArgumentException(fileName + where(e) + ": " + e.getMessage(), e);
            }
            List<JsModules.Issue> issues = new ArrayList<>();
            exports = JsModules.exports(context, module, issues);
            if (exports == null) {
                throw new IllegalArgumentException(fileName + ": " + issues.stream()
                        .map(i -> (i.path().isEmpty() ? "" : i.path() + ": ") + i.message()).toList());
            }
            Value d = module.getMember("default");
            onRequest = d.getMember("onRequest");
            onResponse = exports.hasOnResponse() ? d.getMember("onResponse") : null;
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Loads a filter module from a file.
     *
     * @param file the module
     * @return the harness; close it after the test
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException if it does not compile or its exports are wrong (as an upload would be refused)
     */
    public static JsFilterHarness load(Path file) throws IOException {
        return new JsFilterHarness(Files.readString(file), file.getFileName().toString());
    }

    /**
     * Loads a filter module from its text.
     *
     * @param source the module
     * @return the harness; close it after the test
     * @throws IllegalArgumentException if it does not compile or its exports are wrong
     */
    public static JsFilterHarness of(String source) {
        return new JsFilterHarness(source, "filter.mjs");
    }

    /** @return the exported name */
    public String name() {
        return exports.name();
    }

    /** @return the exported version */
    public String version() {
        return exports.version();
    }

    /** @return the exported config schema, as JSON text */
    public String schema() {
        return exports.schema();
    }

    /**
     * Runs {@code onRequest}.
     *
     * @param exchange   the exchange (a {@link TestExchange})
     * @param configJson the filter's config as JSON text
     * @return proceed, or the response the filter answered with
     * @throws IllegalStateException if the script threw or ran past its statement budget
     */
    public Outcome onRequest(Exchange exchange, String configJson) {
        return run(true, exchange, configJson);
    }

    /**
     * Runs {@code onResponse} (proceed if the module has none).
     *
     * @param exchange   the exchange, with a response
     * @param configJson the filter's config as JSON text
     * @return proceed, or the replacement response
     * @throws IllegalStateException if the script threw or ran past its statement budget
     */
    public Outcome onResponse(Exchange exchange, String configJson) {
        return exports.hasOnResponse() ? run(false, exchange, configJson) : Outcome.proceed();
    }

    private synchronized Outcome run(boolean request, Exchange exchange, String configJson) {
        Value fn = request ? onRequest : onResponse;
        try {
            context.resetLimits();
            Value conf = context.getBindings("js").getMember("JSON").getMember("parse").execute(configJson);
            Value r = invoke.execute(fn, new JsHost(exchange, name() + "@" + version()), conf);
            return JsModules.outcome(JsModules.toArray(r));
        } catch (PolyglotException e) {
            String why = e.isResourceExhausted() ? "ran more than " + STATEMENTS + " statements" : e.getMessage();
            IllegalStateException failure = new IllegalStateException(name() + where(e) + ": " + why, e);
            context.close(true);   // a context that threw may hold half-done state: the next call starts clean
            start();
            throw failure;
        }
    }

    /** Where in the filter's source it failed: the error's location, or the innermost frame of the filter. */
    private static String where(PolyglotException e) {
        org.graalvm.polyglot.SourceSection at = e.getSourceLocation();
        if (at == null || !at.isAvailable() || JsModules.PRELUDE_NAME.equals(at.getSource().getName())) {
            at = null;
            for (PolyglotException.StackFrame f : e.getPolyglotStackTrace()) {
                org.graalvm.polyglot.SourceSection s = f.getSourceLocation();
                if (f.isGuestFrame() && s != null && s.isAvailable()
                        && !JsModules.PRELUDE_NAME.equals(s.getSource().getName())) {
                    at = s;
                    break;
                }
            }
        }
        return at == null ? "" : " line " + at.getStartLine() + ", column " + at.getStartColumn();
    }

    @Override
    public void close() {
        if (context != null) {
            context.close(true);
        }
        engine.close(true);
    }
}
