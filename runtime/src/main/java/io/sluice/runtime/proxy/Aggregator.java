package io.sluice.runtime.proxy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.plugin.Headers;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.UpstreamPolicy;
import io.sluice.registry.config.ConfigParser;
import io.sluice.registry.config.GatewayConfig.AggregateSpec;
import io.sluice.registry.config.GatewayConfig.CallSpec;
import io.sluice.registry.config.UrlTemplate;
import io.opentelemetry.api.trace.Span;
import io.sluice.runtime.observe.RouteMeters;
import io.sluice.runtime.observe.Tracing;
import io.sluice.runtime.upstream.ConnectionPool;
import io.sluice.runtime.upstream.RequestBody;
import io.sluice.runtime.upstream.UpstreamClient;
import io.sluice.runtime.upstream.UpstreamException;
import io.sluice.runtime.upstream.UpstreamRequest;
import io.sluice.runtime.upstream.UpstreamResponse;

import java.io.IOException;
import java.io.InputStream;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An aggregate route's fan-out and fan-in: each call on its own virtual thread, each under its own whole-call
 * deadline, the JSON results merged under the calls' names. A call past its deadline is abandoned: its thread is
 * interrupted, which closes its socket (a virtual thread blocked in socket I/O closes the socket on interrupt), so
 * the half-read connection is closed rather than pooled.
 *
 * <p>The route's upstream policies (circuit-breaker) are asked once per call with the call's origin as the target
 * and told the call's result; retries they ask for are not made (the call's deadline is its whole budget).
 */
final class Aggregator {
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    /** Client headers that would make a call answer something other than a whole, plain JSON body. */
    private static final Set<String> DROPPED = Set.of("content-length", "transfer-encoding", "content-type",
            "content-encoding", "expect", "host", "accept", "accept-encoding", "range", "if-range", "if-match",
            "if-none-match", "if-modified-since", "if-unmodified-since");
    private static final UpstreamPolicy.Attempt[] NO_TICKETS = new UpstreamPolicy.Attempt[0];

    /**
     * A call bound to its connection pool.
     *
     * @param spec   the call as configured
     * @param pool   connections to its origin
     * @param origin {@code http://host:port}, the target policies see
     */
    record Call(CallSpec spec, ConnectionPool pool, String origin) {
    }

    /** What a fan-out produced: a merged body, or the error response of a failed required call. */
    sealed interface Result permits Merged, Failed {
    }

    /** @param body the merged JSON object */
    record Merged(byte[] body) implements Result {
    }

    /**
     * @param response the error response
     * @param timedOut whether the required call was late
     * @param refused  whether a policy refused the call
     */
    record Failed(Outcome.Respond response, boolean timedOut, boolean refused) implements Result {
    }

    private final Call[] calls;
    private final int maxBodyBytes;

    private Aggregator(Call[] calls, int maxBodyBytes) {
        this.calls = calls;
        this.maxBodyBytes = maxBodyBytes;
    }

    /**
     * Binds each call to the pool of its origin (pools are shared by origin, with ordinary routes too).
     *
     * @param spec   the route's aggregate
     * @param client the upstream client
     * @param pools  collects the pools the snapshot uses
     * @return the aggregator
     */
    static Aggregator create(AggregateSpec spec, UpstreamClient client, Set<ConnectionPool> pools) {
        Call[] calls = new Call[spec.calls().size()];
        for (int i = 0; i < calls.length; i++) {
            CallSpec c = spec.calls().get(i);
            UrlTemplate u = c.url();
            ConnectionPool pool = client.pool(u.host(), u.port());
            pools.add(pool);
            calls[i] = new Call(c, pool, "http://" + u.host() + ":" + u.port());
        }
        return new Aggregator(calls, spec.maxBodyBytes());
    }

    /** How one call ended; {@code value} is set only for {@link Kind#OK}. */
    private record CallResult(Kind kind, JsonNode value, String message, int status) {
    }

    /** Outcome kinds: the error code in the merged body and the {@code outcome} tag of the call metric. */
    private enum Kind {
        OK("ok"), BAD_GATEWAY("bad_gateway"), GATEWAY_TIMEOUT("gateway_timeout"), UPSTREAM_STATUS("upstream_status"),
        BAD_RESPONSE("bad_response"), REFUSED("refused"), CANCELLED("cancelled");

        final String code;

        Kind(String code) {
            this.code = code;
        }
    }

    /** One call in flight. Whoever settles it first (its thread, or the waiting handler) reports to the policies. */
    private final class Pending {
        final int index;
        final Call call;
        final UpstreamPolicy.Attempt[] tickets;
        final AtomicBoolean settled = new AtomicBoolean();
        final long deadline;
        Thread thread;
        volatile CallResult result;   // set by its thread, or by the handler when it gives up on the call
        Outcome.Respond refusal;
        long nanos;
        /** The call's span, when the request is traced; ended by whoever settles the call. */
        Span span;

        Pending(int index, Call call, UpstreamPolicy.Attempt[] tickets, long deadline) {
            this.index = index;
            this.call = call;
            this.tickets = tickets;
            this.deadline = deadline;
        }
    }

    /**
     * Makes every call and waits for each up to its own deadline; returns early when a required call fails.
     *
     * @param ex       the exchange, after the request side of the chain
     * @param client   the upstream client
     * @param policies the route's upstream policies
     * @param meters   the route's meters
     * @param tracing  spans: one CLIENT span per call (whose context is the call's traceparent) when the request
     *                 is traced
     * @return the merged body or the failure
     */
    Result run(ProxyExchange ex, UpstreamClient client, UpstreamPolicy[] policies, RouteMeters meters,
               Tracing tracing) {
        long start = System.nanoTime();
        Headers headers = forwarded(ex.request().headers());
        Pending[] pending = new Pending[calls.length];
        LinkedBlockingQueue<Pending> done = new LinkedBlockingQueue<>();
        int running = 0;
        Pending failedRequired = null;
        for (int i = 0; i < calls.length && failedRequired == null; i++) {
            Call call = calls[i];
            UpstreamPolicy.Attempt[] tickets = policies.length == 0 ? NO_TICKETS
                    : new UpstreamPolicy.Attempt[policies.length];
            Outcome.Respond refused = null;
            for (int t = 0; t < policies.length && refused == null; t++) {
                tickets[t] = policies[t].begin(ex, call.origin(), 1);
                refused = tickets[t].refused();
                if (refused != null) {
                    for (int j = 0; j < t; j++) {
                        tickets[j].abandoned();
                    }
                }
            }
            Pending p = new Pending(i, call, tickets,
                    start + TimeUnit.MILLISECONDS.toNanos(call.spec().timeoutMs()));
            pending[i] = p;
            if (refused != null) {
                p.settled.set(true);
                p.refusal = refused;
                p.result = new CallResult(Kind.REFUSED, null, refusalMessage(refused, call), refused.status());
                if (call.spec().required()) {
                    failedRequired = p;
                }
                continue;
            }
            String target = call.spec().url().expand(ex.route().params());
            Headers sent = headers;
            if (ex.unsampled != null && running == 0) {
                Tracing.propagate(ex.unsampled, headers);   // not sampled: the request's context, shared by the calls
            }
            if (ex.span != null) {
                sent = new Headers(headers);   // each call has its own span, so its own traceparent
                p.span = tracing.startUpstream(ex.span, call.spec().method(), call.origin() + target, 1, sent);
                p.span.setAttribute("sluice.call", call.spec().name());
            }
            running++;
            Headers callHeaders = sent;
            p.thread = Thread.ofVirtual().name("sluice-aggregate-" + call.spec().name())
                    .start(() -> call(p, client, target, callHeaders, done));
        }
        // fan-in: take results as they come; at each deadline abandon the calls that are late
        while (running > 0 && failedRequired == null) {
            long next = Long.MAX_VALUE;
            for (Pending p : pending) {
                if (p != null && p.result == null && p.thread != null && p.deadline - next < 0) {
                    next = p.deadline;
                }
            }
            Pending got;
            try {
                got = done.poll(Math.max(0, next - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;   // the request itself is being torn down: cancel what is left
            }
            if (got != null) {
                running--;
                if (got.result.kind() != Kind.OK && got.call.spec().required()) {
                    failedRequired = got;
                }
                continue;
            }
            long now = System.nanoTime();
            for (Pending p : pending) {
                if (p != null && p.result == null && p.thread != null && now - p.deadline >= 0
                        && p.settled.compareAndSet(false, true)) {
                    p.nanos = now - start;
                    for (UpstreamPolicy.Attempt t : p.tickets) {
                        t.failed(true, p.nanos);
                    }
                    p.result = new CallResult(Kind.GATEWAY_TIMEOUT, null, "call '" + p.call.spec().name()
                            + "' did not complete within " + p.call.spec().timeoutMs() + " ms", 504);
                    endSpan(p);
                    p.thread.interrupt();
                    running--;
                    if (p.call.spec().required()) {
                        failedRequired = p;
                    }
                }
            }
        }
        // whatever is still running is not waited for (a required call failed, or we were interrupted)
        long now = System.nanoTime();
        for (Pending p : pending) {
            if (p != null && p.thread != null && p.settled.compareAndSet(false, true)) {
                p.nanos = now - start;
                for (UpstreamPolicy.Attempt t : p.tickets) {
                    t.abandoned();
                }
                p.result = new CallResult(Kind.CANCELLED, null, "cancelled", 0);
                endSpan(p);
                p.thread.interrupt();
            }
        }
        ex.upstreamNanos = now - start;
        ex.upstreamTarget = "aggregate";
        for (Pending p : pending) {
            if (p != null && p.result != null) {
                meters.aggregateCall(p.call.spec().name(), p.result.kind().code, p.nanos);
            }
        }
        if (failedRequired != null) {
            return failure(failedRequired);
        }
        return new Merged(merge(pending));
    }

    private void call(Pending p, UpstreamClient client, String target, Headers headers,
                      LinkedBlockingQueue<Pending> done) {
        CallSpec spec = p.call.spec();
        long sent = System.nanoTime();
        long headNanos = -1;
        int status = 0;
        CallResult result;
        try {
            RequestBody body = spec.method().equals("GET") || spec.method().equals("DELETE") ? RequestBody.NONE
                    : new RequestBody.Buffered(new byte[0], 0);
            UpstreamResponse up = client.send(p.call.pool(), new UpstreamRequest(spec.method(), target, headers, body),
                    spec.connectTimeoutMs(), spec.timeoutMs());
            headNanos = System.nanoTime() - sent;
            status = up.status();
            result = read(spec, up);
        } catch (UpstreamException e) {
            result = e.kind() == UpstreamException.Kind.TIMEOUT
                    ? new CallResult(Kind.GATEWAY_TIMEOUT, null, e.getMessage(), 504)
                    : new CallResult(Kind.BAD_GATEWAY, null, e.getMessage(), 502);
        } catch (IOException | RuntimeException e) {
            result = new CallResult(Kind.BAD_GATEWAY, null, "call '" + spec.name() + "' failed: " + e.getMessage(), 502);
        }
        if (!p.settled.compareAndSet(false, true)) {
            return;   // late: the handler has answered without it (its connection was closed, not pooled)
        }
        long nanos = System.nanoTime() - sent;
        for (UpstreamPolicy.Attempt t : p.tickets) {
            if (headNanos >= 0) {
                t.completed(status, headNanos);
            } else {
                t.failed(result.kind() == Kind.GATEWAY_TIMEOUT, nanos);
            }
        }
        p.nanos = nanos;
        p.result = result;
        endSpan(p);
        done.add(p);
    }

    /** Ends a settled call's span with its result. */
    private static void endSpan(Pending p) {
        if (p.span == null) {
            return;
        }
        CallResult r = p.result;
        switch (r.kind()) {
            case OK, UPSTREAM_STATUS -> Tracing.answered(p.span, r.status());
            default -> Tracing.failed(p.span, r.kind().code);
        }
    }

    private CallResult read(CallSpec spec, UpstreamResponse up) throws IOException {
        boolean ok = up.status() >= 200 && up.status() <= 299;
        byte[] bytes = bounded(up);
        if (!ok) {
            return new CallResult(Kind.UPSTREAM_STATUS, null, "call '" + spec.name() + "' answered status "
                    + up.status(), up.status());
        }
        if (bytes == null) {
            return new CallResult(Kind.BAD_RESPONSE, null, "call '" + spec.name()
                    + "' answered more than max_body_bytes (" + maxBodyBytes + ")", 502);
        }
        try {
            JsonNode value = MAPPER.readTree(bytes);
            if (value == null || value.isMissingNode()) {
                return new CallResult(Kind.BAD_RESPONSE, null, "call '" + spec.name() + "' answered no body", 502);
            }
            return new CallResult(Kind.OK, value, null, up.status());
        } catch (JsonProcessingException e) {
            return new CallResult(Kind.BAD_RESPONSE, null, "call '" + spec.name() + "' did not answer JSON: "
                    + e.getOriginalMessage(), 502);
        }
    }

    /**
     * The whole body (read to its end, so the connection goes back to the pool), or null when it is over
     * {@code max_body_bytes} (the connection is closed instead of reading the rest).
     */
    private byte[] bounded(UpstreamResponse up) throws IOException {
        InputStream in = up.body();
        if (up.contentLength() > maxBodyBytes) {
            in.close();
            return null;
        }
        byte[] bytes = in.readNBytes(maxBodyBytes + 1);
        if (bytes.length > maxBodyBytes) {
            in.close();
            return null;
        }
        return bytes;
    }

    private static byte[] merge(Pending[] pending) {
        ObjectNode out = MAPPER.createObjectNode();
        ObjectNode errors = null;
        for (Pending p : pending) {
            String name = p.call.spec().name();
            CallResult r = p.result != null ? p.result : new CallResult(Kind.CANCELLED, null, "cancelled", 0);
            if (r.kind() == Kind.OK) {
                out.set(name, r.value());
                continue;
            }
            out.putNull(name);
            if (errors == null) {
                errors = MAPPER.createObjectNode();
            }
            errors.putObject(name).put("error", r.kind() == Kind.REFUSED ? refusalCode(p.refusal) : r.kind().code)
                    .put("message", r.message()).put("status", r.status());
        }
        if (errors != null) {
            out.set(ConfigParser.ERRORS_KEY, errors);
        }
        try {
            return MAPPER.writeValueAsBytes(out);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write merged JSON", e);   // a tree of parsed values always writes
        }
    }

    /** The whole response for a failed required call: 504 when late, the policy's refusal status, else 502. */
    private static Failed failure(Pending p) {
        CallResult r = p.result;
        String name = p.call.spec().name();
        int status;
        String code;
        Headers headers = new Headers();
        boolean refused = r.kind() == Kind.REFUSED;
        if (refused) {
            status = p.refusal.status();
            code = refusalCode(p.refusal);
            p.refusal.headers().first("Retry-After").ifPresent(v -> headers.set("Retry-After", v));
        } else if (r.kind() == Kind.GATEWAY_TIMEOUT) {
            status = 504;
            code = "gateway_timeout";
        } else {
            status = 502;
            code = "bad_gateway";
        }
        headers.set("Content-Type", "application/json");
        ObjectNode body = MAPPER.createObjectNode();
        body.put("error", code);
        body.put("message", "required call '" + name + "' failed");
        ArrayNode details = body.putArray("details");
        details.addObject().put("path", "calls." + name).put("message", r.kind().code + ": " + r.message());
        return new Failed(Outcome.respond(status, headers, body.toString().getBytes(
                java.nio.charset.StandardCharsets.UTF_8)), r.kind() == Kind.GATEWAY_TIMEOUT, refused);
    }

    private static String refusalCode(Outcome.Respond refusal) {
        return refusalField(refusal, "error", "upstream_refused");
    }

    private static String refusalMessage(Outcome.Respond refusal, Call call) {
        return refusalField(refusal, "message",
                "a policy refused the call to " + call.origin() + " (status " + refusal.status() + ")");
    }

    /** A text field of a policy's refusal body (the contract's error shape), or the fallback when it has none. */
    private static String refusalField(Outcome.Respond refusal, String field, String fallback) {
        try {
            JsonNode n = MAPPER.readTree(refusal.body());
            if (n != null && n.path(field).isTextual()) {
                return n.path(field).asText();
            }
        } catch (IOException e) {
            // a custom fallback body that is not JSON
        }
        return fallback;
    }

    /** The request headers after the request side of the chain, minus what a body-less JSON call must not carry. */
    private static Headers forwarded(Headers request) {
        Headers out = new Headers();
        for (int i = 0, n = request.size(); i < n; i++) {
            String name = request.name(i);
            if (!DROPPED.contains(name.toLowerCase(java.util.Locale.ROOT))) {
                out.add(name, request.value(i));
            }
        }
        out.add("Accept", "application/json");
        return out;
    }
}
