package io.sluice.runtime.proxy;

import com.google.protobuf.DynamicMessage;
import io.grpc.CallOptions;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.GrpcEcho;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * gRPC through the gateway: a grpc-java client over h2c, the gateway, a grpc-java server behind a
 * {@code protocol: grpc} upstream. Pass-through keeps headers, trailers and error statuses and streams
 * server-streaming replies; the gateway's own errors reach the client as gRPC statuses.
 */
class GrpcIT {
    private GrpcEcho echo;
    private SluiceServer gw;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        echo = GrpcEcho.start();
        int down = Gateways.refusedPort();
        gw = Gateways.start("""
                routes:
                  - id: echo
                    paths: ["/sluice.test.Echo/**"]
                    upstream: {protocol: grpc, targets: [{url: "%1$s"}]}
                  - id: down
                    hosts: [down.test]
                    paths: ["/sluice.test.Echo/**"]
                    upstream: {protocol: grpc, retries: 0, targets: [{url: "http://127.0.0.1:%2$d"}]}
                  - id: transcode
                    paths: ["/v1/echo/{id}"]
                    plugins:
                      - name: grpc-transcode
                        config: {descriptor_set: "%3$s", service: sluice.test.Echo, method: Say}
                    upstream: {protocol: grpc, targets: [{url: "%1$s"}]}
                  - id: guarded
                    hosts: [guarded.test]
                    paths: ["/sluice.test.Echo/**"]
                    plugins: [{name: key-auth, config: {}}]
                    upstream: {protocol: grpc, targets: [{url: "%1$s"}]}
                """.formatted(echo.url(), down, GrpcEcho.descriptorSetBase64()));
        channel = channel(null);
    }

    private ManagedChannel channel(String authority) {
        var b = Grpc.newChannelBuilderForAddress("127.0.0.1", gw.proxyPort(), InsecureChannelCredentials.create());
        if (authority != null) {
            b.overrideAuthority(authority);
        }
        return b.build();
    }

    @AfterEach
    void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        gw.close();
        echo.close();
    }

    @Test
    void unaryCallPassesThroughWithHeadersAndTrailingMetadata() {
        AtomicReference<Metadata> headers = new AtomicReference<>();
        AtomicReference<Metadata> trailers = new AtomicReference<>();
        var ch = ClientInterceptors.intercept(channel,
                MetadataUtils.newCaptureMetadataInterceptor(headers, trailers));
        DynamicMessage reply = ClientCalls.blockingUnaryCall(ch, GrpcEcho.SAY, CallOptions.DEFAULT
                .withDeadlineAfter(10, TimeUnit.SECONDS), GrpcEcho.request("hello", 0));
        assertEquals("echo: hello", GrpcEcho.text(reply));
        assertEquals("hi", headers.get().get(GrpcEcho.HEADER));
        assertEquals("done", trailers.get().get(GrpcEcho.TRAILER), "custom trailing metadata arrives: " + trailers);
        assertEquals(1, echo.calls());
    }

    @Test
    void serverStreamingRepliesAreStreamedNotBuffered() {
        AtomicReference<Metadata> headers = new AtomicReference<>();
        AtomicReference<Metadata> trailers = new AtomicReference<>();
        var ch = ClientInterceptors.intercept(channel,
                MetadataUtils.newCaptureMetadataInterceptor(headers, trailers));
        long start = System.nanoTime();
        Iterator<DynamicMessage> it = ClientCalls.blockingServerStreamingCall(ch, GrpcEcho.STREAM,
                CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), GrpcEcho.request("tick", 5));
        DynamicMessage first = it.next();
        long firstMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        List<Integer> indexes = new ArrayList<>(List.of(GrpcEcho.index(first)));
        it.forEachRemaining(m -> indexes.add(GrpcEcho.index(m)));
        long allMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(List.of(0, 1, 2, 3, 4), indexes);
        // the server spaces its 5 replies 100 ms apart: a buffered proxy would deliver the first after ~500 ms
        assertTrue(firstMs < allMs - 250, "first reply after " + firstMs + " ms, all after " + allMs + " ms");
        assertEquals("done", trailers.get().get(GrpcEcho.TRAILER));
    }

    @Test
    void anErrorStatusFromTheServerPassesThrough() {
        AtomicReference<Metadata> headers = new AtomicReference<>();
        AtomicReference<Metadata> trailers = new AtomicReference<>();
        var ch = ClientInterceptors.intercept(channel,
                MetadataUtils.newCaptureMetadataInterceptor(headers, trailers));
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ClientCalls.blockingUnaryCall(
                ch, GrpcEcho.SAY, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                GrpcEcho.request("bad", 0)));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertEquals("bad text", e.getStatus().getDescription());
        assertEquals("done", e.getTrailers().get(GrpcEcho.TRAILER));
    }

    @Test
    void anUnreachableUpstreamIsUnavailable() {
        ManagedChannel down = channel("down.test");
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ClientCalls
                    .blockingUnaryCall(down, GrpcEcho.SAY, CallOptions.DEFAULT.withDeadlineAfter(10,
                            TimeUnit.SECONDS), GrpcEcho.request("hello", 0)));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
            assertTrue(e.getStatus().getDescription().startsWith("bad_gateway: "), e.getStatus().getDescription());
            assertTrue(e.getTrailers().containsKey(Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER)));
        } finally {
            down.shutdownNow();
        }
    }

    @Test
    void keyAuthWithoutAKeyIsUnauthenticated() {
        ManagedChannel guarded = channel("guarded.test");
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ClientCalls
                    .blockingUnaryCall(guarded, GrpcEcho.SAY, CallOptions.DEFAULT.withDeadlineAfter(10,
                            TimeUnit.SECONDS), GrpcEcho.request("hello", 0)));
            assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode(), e.getStatus().toString());
            assertEquals(0, echo.calls());
        } finally {
            guarded.shutdownNow();
        }
    }

    @Test
    void noRouteIsUnimplemented() {
        ManagedChannel nowhere = channel("nowhere.test");
        try {
            // routes with hosts do not match; the host-less one matches the path: a method outside it has no route
            var other = io.grpc.MethodDescriptor.<DynamicMessage, DynamicMessage>newBuilder()
                    .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
                    .setFullMethodName("sluice.test.Other/Say")
                    .setRequestMarshaller(GrpcEcho.SAY.getRequestMarshaller())
                    .setResponseMarshaller(GrpcEcho.SAY.getResponseMarshaller()).build();
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ClientCalls
                    .blockingUnaryCall(nowhere, other, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                            GrpcEcho.request("hello", 0)));
            assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode(), e.getStatus().toString());
        } finally {
            nowhere.shutdownNow();
        }
    }

    private java.net.http.HttpResponse<String> json(String method, String target, String body) throws Exception {
        try (var http = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1)
                .build()) {
            var b = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + gw.proxyPort()
                    + target)).timeout(java.time.Duration.ofSeconds(10)).header("Content-Type", "application/json");
            b.method(method, body == null ? java.net.http.HttpRequest.BodyPublishers.noBody()
                    : java.net.http.HttpRequest.BodyPublishers.ofString(body));
            return http.send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        }
    }

    @Test
    void aJsonCallIsTranscodedToAUnaryMethodAndBack() throws Exception {
        var r = json("POST", "/v1/echo/42", "{\"text\": \"hi\"}");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""));
        assertEquals("{\"text\":\"echo: hi #42\",\"index\":0}", r.body(), "path param {id} filled field id");
        // query parameters fill fields too; the path parameter wins over the body
        r = json("GET", "/v1/echo/7?text=q&unrelated=1", null);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("{\"text\":\"echo: q #7\",\"index\":0}", r.body());
        r = json("POST", "/v1/echo/7", "{\"text\": \"x\", \"id\": \"body\"}");
        assertEquals("{\"text\":\"echo: x #7\",\"index\":0}", r.body());
        assertEquals(3, echo.calls());
    }

    @Test
    void grpcStatusesBecomeHttpStatusesWithJsonErrors() throws Exception {
        var r = json("POST", "/v1/echo/42", "{\"text\": \"missing\"}");
        assertEquals(404, r.statusCode(), r.body());
        assertEquals("{\"error\":\"not_found\",\"message\":\"no such thing: 42\"}", r.body());
        r = json("POST", "/v1/echo/42", "{\"text\": \"bad\"}");
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(r.body().contains("\"error\":\"invalid_argument\""), r.body());
        assertEquals(2, echo.calls());
    }

    @Test
    void badJsonIsRefusedWithoutCallingTheServer() throws Exception {
        for (String body : List.of("{", "{\"nope\": 1}", "{\"count\": \"many\"}", "[1]")) {
            var r = json("POST", "/v1/echo/42", body);
            assertEquals(400, r.statusCode(), body + " -> " + r.body());
            assertTrue(r.body().startsWith("{\"error\":\"bad_request\""), r.body());
        }
        assertEquals(0, echo.calls(), "the gRPC server saw nothing");
    }

    @Test
    void aTranscodedCallToADownUpstreamIsAJson502() throws Exception {
        try (SluiceServer g = Gateways.start("""
                routes:
                  - id: t
                    paths: ["/v1/echo/{id}"]
                    plugins:
                      - name: grpc-transcode
                        config: {descriptor_set: "%s", service: sluice.test.Echo, method: Say}
                    upstream: {protocol: grpc, retries: 0, targets: [{url: "http://127.0.0.1:%d"}]}
                """.formatted(GrpcEcho.descriptorSetBase64(), Gateways.refusedPort()))) {
            try (var http = java.net.http.HttpClient.newHttpClient()) {
                var r = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
                        + g.proxyPort() + "/v1/echo/1")).POST(java.net.http.HttpRequest.BodyPublishers.ofString("{}"))
                        .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
                assertEquals(502, r.statusCode(), r.body());
                assertTrue(r.body().startsWith("{\"error\":\"bad_gateway\""), r.body());
            }
        }
    }

    @Test
    void aStreamingMethodOrAMissingServiceIsRefusedAtConfigTime() {
        for (String[] c : List.of(new String[] {"Chat", "sluice.test.Echo", "bidirectional streaming"},
                new String[] {"Stream", "sluice.test.Echo", "server streaming"},
                new String[] {"Nope", "sluice.test.Echo", "has no method Nope"},
                new String[] {"Say", "sluice.test.Other", "has no service sluice.test.Other"})) {
            Exception e = assertThrows(Exception.class, () -> Gateways.start("""
                    routes:
                      - id: t
                        paths: ["/t"]
                        plugins:
                          - name: grpc-transcode
                            config: {descriptor_set: "%s", service: %s, method: %s}
                        upstream: {protocol: grpc, targets: [{url: "http://127.0.0.1:1"}]}
                    """.formatted(GrpcEcho.descriptorSetBase64(), c[1], c[0])).close());
            assertTrue(e.getMessage().contains(c[2]), e.getMessage());
        }
    }

    @Test
    void theMappingIsInOnePlace() {
        assertEquals(14, GrpcErrors.code(502));
        assertEquals(14, GrpcErrors.code(503));
        assertEquals(16, GrpcErrors.code(401));
        assertEquals(7, GrpcErrors.code(403));
        assertEquals(8, GrpcErrors.code(429));
        assertEquals(8, GrpcErrors.code(413));
        assertEquals(4, GrpcErrors.code(504));
        assertEquals(12, GrpcErrors.code(404));
        assertEquals(13, GrpcErrors.code(500));
        assertEquals("caf%C3%A9 100%25", GrpcErrors.percentEncode("café 100%"));
    }
}
