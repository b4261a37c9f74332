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
                  - id: guarded
                    hosts: [guarded.test]
                    paths: ["/sluice.test.Echo/**"]
                    plugins: [{name: key-auth, config: {}}]
                    upstream: {protocol: grpc, targets: [{url: "%1$s"}]}
                """.formatted(echo.url(), down));
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
