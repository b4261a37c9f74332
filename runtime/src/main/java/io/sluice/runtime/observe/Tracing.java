package io.sluice.runtime.observe;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.sluice.plugin.Headers;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * OpenTelemetry tracing of the request path: a SERVER span per request (continuing the client's W3C
 * {@code traceparent}, or starting a trace), an INTERNAL span per filter phase, a CLIENT span per upstream attempt
 * whose context is the {@code traceparent} sent upstream.
 *
 * <p>Off by default ({@link #OFF}: no span is created; the proxy still continues the client's trace id in the
 * {@code traceparent} it forwards). On when an exporter is configured the standard OpenTelemetry way
 * ({@code OTEL_TRACES_EXPORTER=otlp}, {@code OTEL_EXPORTER_OTLP_ENDPOINT}, … or the {@code otel.*} system
 * properties), read by the SDK's autoconfigure module.
 */
public final class Tracing implements AutoCloseable {
    /** No tracing: no spans, no cost beyond a null check per phase. */
    public static final Tracing OFF = new Tracing(null, null);

    static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
    static final AttributeKey<String> URL_PATH = AttributeKey.stringKey("url.path");
    static final AttributeKey<String> URL_FULL = AttributeKey.stringKey("url.full");
    static final AttributeKey<String> HTTP_ROUTE = AttributeKey.stringKey("http.route");
    static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
    static final AttributeKey<String> CLIENT = AttributeKey.stringKey("client.address");
    static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
    static final AttributeKey<String> ROUTE = AttributeKey.stringKey("sluice.route");
    static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("sluice.request_id");
    static final AttributeKey<String> FILTER = AttributeKey.stringKey("sluice.filter");
    static final AttributeKey<String> PHASE = AttributeKey.stringKey("sluice.filter.phase");
    static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("sluice.attempt");

    private static final W3CTraceContextPropagator W3C = W3CTraceContextPropagator.getInstance();

    private final Tracer tracer;
    private final AutoCloseable owned;

    private Tracing(Tracer tracer, AutoCloseable owned) {
        this.tracer = tracer;
        this.owned = owned;
    }

    /**
     * Tracing through an OpenTelemetry instance the caller owns (an embedding application, tests).
     *
     * @param otel the instance
     * @return tracing on
     */
    public static Tracing of(OpenTelemetry otel) {
        return new Tracing(otel.getTracer("io.sluice.gateway"), null);
    }

    /**
     * Tracing as the environment configures it: {@link #OFF} unless a traces exporter is named (environment
     * variable {@code OTEL_TRACES_EXPORTER}, system property {@code otel.traces.exporter}, or {@code defaults});
     * otherwise an SDK built by OpenTelemetry's autoconfigure module, with Sluice's defaults under the user's
     * settings: service name {@code sluice}, OTLP over {@code http/protobuf}, no metrics or logs exporter
     * (metrics are at {@code /metrics}).
     *
     * @param defaults further {@code otel.*} properties, under system properties and environment variables
     * @return tracing, closed with the node (flushes what is batched)
     */
    public static Tracing fromEnvironment(Map<String, String> defaults) {
        String exporter = System.getProperty("otel.traces.exporter");
        if (exporter == null) {
            exporter = System.getenv("OTEL_TRACES_EXPORTER");
        }
        if (exporter == null) {
            exporter = defaults.get("otel.traces.exporter");
        }
        if (exporter == null || exporter.isBlank() || exporter.strip().toLowerCase(Locale.ROOT).equals("none")) {
            return OFF;
        }
        Map<String, String> props = new HashMap<>(Map.of(
                "otel.service.name", "sluice",
                "otel.exporter.otlp.protocol", "http/protobuf",
                "otel.metrics.exporter", "none",
                "otel.logs.exporter", "none"));
        props.putAll(defaults);
        var sdk = AutoConfiguredOpenTelemetrySdk.builder()
                .addPropertiesSupplier(() -> props)
                .disableShutdownHook()   // the node closes it, after its listeners stopped
                .build()
                .getOpenTelemetrySdk();
        return new Tracing(sdk.getTracer("io.sluice.gateway"), sdk);
    }

    /** @return whether spans are made */
    public boolean on() {
        return tracer != null;
    }

    /**
     * Starts the span of a request, as a child of the client's trace context when it sent a valid one.
     *
     * @param incoming  the client's headers (for {@code traceparent}, {@code tracestate})
     * @param getter    reads them
     * @param method    request method
     * @param path      request path
     * @param client    client address
     * @param <C>       the headers' type
     * @return the started span
     */
    public <C> Span startRequest(C incoming, TextMapGetter<C> getter, String method, String path, String client) {
        Context parent = W3C.extract(Context.root(), incoming, getter);
        return tracer.spanBuilder(method)
                .setParent(parent)
                .setSpanKind(SpanKind.SERVER)
                .setAttribute(METHOD, method)
                .setAttribute(URL_PATH, path)
                .setAttribute(CLIENT, client)
                .startSpan();
    }

    /**
     * Names the request span after its route, once it is known.
     *
     * @param request   the request span
     * @param method    request method
     * @param routeId   the route's id
     * @param requestId the request id sent upstream
     */
    public static void routed(Span request, String method, String routeId, String requestId) {
        request.updateName(method + " " + routeId);
        request.setAttribute(HTTP_ROUTE, routeId);
        request.setAttribute(ROUTE, routeId);
        request.setAttribute(REQUEST_ID, requestId);
    }

    /**
     * Ends the request span.
     *
     * @param request the span
     * @param status  status sent (0 if none)
     * @param error   the exchange's error kind, if any
     */
    public static void end(Span request, int status, String error) {
        if (status > 0) {
            request.setAttribute(STATUS, (long) status);
        }
        if (error != null) {
            request.setAttribute(ERROR_TYPE, error);
        }
        if (status >= 500 || status == 0) {
            request.setStatus(StatusCode.ERROR, error != null ? error : status == 0 ? "no response" : null);
        }
        request.end();
    }

    /**
     * Starts the span of one filter phase.
     *
     * @param request the request span
     * @param filter  the plugin name
     * @param phase   {@code request}, {@code response}
     * @return the started span
     */
    public Span startFilter(Span request, String filter, String phase) {
        return tracer.spanBuilder(filter + " " + phase)
                .setParent(Context.root().with(request))
                .setSpanKind(SpanKind.INTERNAL)
                .setAttribute(FILTER, filter)
                .setAttribute(PHASE, phase)
                .startSpan();
    }

    /**
     * Starts the span of one upstream attempt and puts its context in the headers sent upstream.
     *
     * @param request the request span
     * @param method  request method
     * @param url     what is called
     * @param attempt 1 for the first
     * @param out     the headers sent upstream ({@code traceparent} is replaced)
     * @return the started span
     */
    public Span startUpstream(Span request, String method, String url, int attempt, Headers out) {
        Span span = tracer.spanBuilder(method)
                .setParent(Context.root().with(request))
                .setSpanKind(SpanKind.CLIENT)
                .setAttribute(METHOD, method)
                .setAttribute(URL_FULL, url)
                .setAttribute(ATTEMPT, (long) attempt)
                .startSpan();
        W3C.inject(Context.root().with(span), out, HEADERS);
        return span;
    }

    /**
     * Puts a span's context in the headers sent upstream, for a request that is not sampled: no CLIENT span is made
     * under it (it would not be recorded), so the upstream's parent is the request's span.
     *
     * @param request the request span (not recording)
     * @param out     the headers sent upstream ({@code traceparent} is replaced)
     */
    public static void propagate(Span request, Headers out) {
        W3C.inject(Context.root().with(request), out, HEADERS);
    }

    /**
     * Ends a span with a failure.
     *
     * @param span      the span
     * @param errorType what failed
     */
    public static void failed(Span span, String errorType) {
        span.setAttribute(ERROR_TYPE, errorType);
        span.setStatus(StatusCode.ERROR, errorType);
        span.end();
    }

    /**
     * Ends an upstream attempt's span with the status received.
     *
     * @param span   the span
     * @param status the upstream's status
     */
    public static void answered(Span span, int status) {
        span.setAttribute(STATUS, (long) status);
        if (status >= 500) {
            span.setStatus(StatusCode.ERROR);
        }
        span.end();
    }

    private static final TextMapSetter<Headers> HEADERS = (h, k, v) -> {
        if (h != null) {
            h.set(k, v);
        }
    };

    @Override
    public void close() {
        if (owned != null) {
            try {
                owned.close();
            } catch (Exception e) {
                System.getLogger(Tracing.class.getName()).log(System.Logger.Level.WARNING,
                        "closing the tracing SDK failed: " + e);
            }
        }
    }
}
