package io.sluice.runtime.testing;

import io.sluice.plugin.Completion;
import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;
import io.sluice.plugin.Outcome;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/**
 * Filters that exist only in tests (registered through the test class path's service file), to observe chain
 * order, short-circuits, failures and body access end to end.
 */
public final class TestFilters {
    private TestFilters() {
    }

    private static FilterDescriptor descriptor(String name, String schema) {
        return new FilterDescriptor(name, "1.0.0", schema, "test filter");
    }

    /** {@code test-trace}: appends its tag to X-Trace on the way in and X-Trace-Response on the way out. */
    public static final class Trace implements FilterFactory {
        @Override
        public FilterDescriptor descriptor() {
            return TestFilters.descriptor("test-trace", """
                    {"type":"object","required":["tag"],"properties":{"tag":{"type":"string"}}}""");
        }

        @Override
        public Filter create(FilterConfig config) {
            String tag = config.string("tag").orElseThrow();
            return new Filter() {
                @Override
                public Outcome onRequest(Exchange ex) {
                    ex.request().headers().add("X-Trace", tag);
                    return Outcome.proceed();
                }

                @Override
                public Outcome onResponse(Exchange ex) {
                    ex.response().orElseThrow().headers().add("X-Trace-Response", tag);
                    return Outcome.proceed();
                }
            };
        }
    }

    /** {@code test-complete}: keeps every {@link Completion} it is given, tagged with its config's {@code tag}. */
    public static final class Complete implements FilterFactory {
        /** What the filters saw, oldest first. */
        public static final java.util.concurrent.LinkedBlockingQueue<Map.Entry<String, Completion>> SEEN =
                new java.util.concurrent.LinkedBlockingQueue<>();

        @Override
        public FilterDescriptor descriptor() {
            return TestFilters.descriptor("test-complete", """
                    {"type":"object","required":["tag"],"properties":{"tag":{"type":"string"}}}""");
        }

        @Override
        public Filter create(FilterConfig config) {
            String tag = config.string("tag").orElseThrow();
            return new Filter() {
                @Override
                public Outcome onRequest(Exchange ex) {
                    return Outcome.proceed();
                }

                @Override
                public void onComplete(Exchange ex, Completion c) {
                    SEEN.add(Map.entry(tag + " " + ex.requestId(), c));
                }
            };
        }
    }

    /** {@code test-respond}: answers at once with its status. */
    public static final class Respond implements FilterFactory {
        @Override
        public FilterDescriptor descriptor() {
            return TestFilters.descriptor("test-respond", """
                    {"type":"object","required":["status"],"properties":{"status":{"type":"integer"}}}""");
        }

        @Override
        public Filter create(FilterConfig config) {
            int status = config.integer("status").orElseThrow().intValue();
            return ex -> Outcome.error(status, "short_circuit", "answered by test-respond");
        }
    }

    /** {@code test-fail}: throws in the configured phase. */
    public static final class Fail implements FilterFactory {
        @Override
        public FilterDescriptor descriptor() {
            return TestFilters.descriptor("test-fail", """
                    {"type":"object","properties":{"phase":{"enum":["request","response"]}}}""");
        }

        @Override
        public Filter create(FilterConfig config) {
            boolean inResponse = config.string("phase").orElse("request").equals("response");
            return new Filter() {
                @Override
                public Outcome onRequest(Exchange ex) {
                    if (!inResponse) {
                        throw new IllegalStateException("test-fail on request");
                    }
                    return Outcome.proceed();
                }

                @Override
                public Outcome onResponse(Exchange ex) {
                    if (inResponse) {
                        throw new IllegalStateException("test-fail on response");
                    }
                    return Outcome.proceed();
                }
            };
        }
    }

    /** {@code test-upper-body}: reads the request body and sends it upstream upper-cased. */
    public static final class UpperBody implements FilterFactory {
        @Override
        public FilterDescriptor descriptor() {
            return TestFilters.descriptor("test-upper-body", FilterDescriptor.EMPTY_SCHEMA);
        }

        @Override
        public Filter create(FilterConfig config) {
            return new Filter() {
                @Override
                public Outcome onRequest(Exchange ex) {
                    String body = new String(ex.request().body().orElseThrow(), StandardCharsets.UTF_8);
                    ex.request().body(body.toUpperCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8));
                    return Outcome.proceed();
                }

                @Override
                public boolean needsRequestBody() {
                    return true;
                }
            };
        }
    }
}
