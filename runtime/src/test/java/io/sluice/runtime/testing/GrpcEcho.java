package io.sluice.runtime.testing;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;
import com.google.protobuf.DescriptorProtos.ServiceDescriptorProto;
import com.google.protobuf.Descriptors;
import com.google.protobuf.DynamicMessage;
import io.grpc.ForwardingServerCall;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real gRPC server (grpc-java over Netty, h2c) for tests, built without generated code: the service
 * {@code sluice.test.Echo} is described by a {@link FileDescriptorProto} written here, its messages are
 * {@link DynamicMessage}s.
 *
 * <pre>
 * message EchoRequest { string text = 1; int32 count = 2; string id = 3; }
 * message EchoReply   { string text = 1; int32 index = 2; }
 * service Echo {
 *   rpc Say(EchoRequest) returns (EchoReply);                // text "missing" → NOT_FOUND, "bad" → INVALID_ARGUMENT
 *   rpc Stream(EchoRequest) returns (stream EchoReply);      // count replies, 100 ms apart
 *   rpc Chat(stream EchoRequest) returns (stream EchoReply); // not unary: what grpc-transcode refuses
 * }
 * </pre>
 *
 * Every call gets header {@code x-echo-header: hi} and, when it ends, trailer {@code x-echo-trailer: done}.
 */
public final class GrpcEcho implements AutoCloseable {
    public static final FileDescriptorProto FILE = FileDescriptorProto.newBuilder()
            .setName("sluice/test/echo.proto").setPackage("sluice.test").setSyntax("proto3")
            .addMessageType(DescriptorProto.newBuilder().setName("EchoRequest")
                    .addField(field("text", 1, FieldDescriptorProto.Type.TYPE_STRING))
                    .addField(field("count", 2, FieldDescriptorProto.Type.TYPE_INT32))
                    .addField(field("id", 3, FieldDescriptorProto.Type.TYPE_STRING)))
            .addMessageType(DescriptorProto.newBuilder().setName("EchoReply")
                    .addField(field("text", 1, FieldDescriptorProto.Type.TYPE_STRING))
                    .addField(field("index", 2, FieldDescriptorProto.Type.TYPE_INT32)))
            .addService(ServiceDescriptorProto.newBuilder().setName("Echo")
                    .addMethod(method("Say", false, false))
                    .addMethod(method("Stream", false, true))
                    .addMethod(method("Chat", true, true)))
            .build();
    public static final Descriptors.FileDescriptor DESCRIPTOR;
    public static final Descriptors.Descriptor REQUEST;
    public static final Descriptors.Descriptor REPLY;
    public static final MethodDescriptor<DynamicMessage, DynamicMessage> SAY;
    public static final MethodDescriptor<DynamicMessage, DynamicMessage> STREAM;
    public static final Metadata.Key<String> HEADER = Metadata.Key.of("x-echo-header", Metadata.ASCII_STRING_MARSHALLER);
    public static final Metadata.Key<String> TRAILER = Metadata.Key.of("x-echo-trailer", Metadata.ASCII_STRING_MARSHALLER);

    static {
        try {
            DESCRIPTOR = Descriptors.FileDescriptor.buildFrom(FILE, new Descriptors.FileDescriptor[0]);
        } catch (Descriptors.DescriptorValidationException e) {
            throw new ExceptionInInitializerError(e);
        }
        REQUEST = DESCRIPTOR.findMessageTypeByName("EchoRequest");
        REPLY = DESCRIPTOR.findMessageTypeByName("EchoReply");
        SAY = descriptor("Say", MethodDescriptor.MethodType.UNARY);
        STREAM = descriptor("Stream", MethodDescriptor.MethodType.SERVER_STREAMING);
    }

    private final Server server;
    private final AtomicInteger calls;

    private GrpcEcho(Server server, AtomicInteger calls) {
        this.server = server;
        this.calls = calls;
    }

    /**
     * @return a started server on a free port
     * @throws IOException if it cannot bind
     */
    public static GrpcEcho start() throws IOException {
        AtomicInteger calls = new AtomicInteger();
        ServerServiceDefinition def = ServerServiceDefinition.builder("sluice.test.Echo")
                .addMethod(SAY, ServerCalls.asyncUnaryCall((DynamicMessage req, StreamObserver<DynamicMessage> out) -> {
                    calls.incrementAndGet();
                    String text = text(req);
                    switch (text) {
                        case "missing" -> out.onError(Status.NOT_FOUND.withDescription("no such thing: "
                                + req.getField(REQUEST.findFieldByName("id"))).asRuntimeException());
                        case "bad" -> out.onError(Status.INVALID_ARGUMENT.withDescription("bad text")
                                .asRuntimeException());
                        default -> {
                            out.onNext(reply("echo: " + text + idSuffix(req), 0));
                            out.onCompleted();
                        }
                    }
                }))
                .addMethod(STREAM, ServerCalls.asyncServerStreamingCall((DynamicMessage req,
                                                                         StreamObserver<DynamicMessage> out) -> {
                    calls.incrementAndGet();
                    int count = (Integer) req.getField(REQUEST.findFieldByName("count"));
                    Thread.ofVirtual().start(() -> {
                        try {
                            for (int i = 0; i < count; i++) {
                                out.onNext(reply(text(req), i));
                                Thread.sleep(100);
                            }
                            out.onCompleted();
                        } catch (InterruptedException e) {
                            out.onError(Status.CANCELLED.asRuntimeException());
                        }
                    });
                }))
                .build();
        ServerInterceptor metadata = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                               ServerCallHandler<Q, R> next) {
                return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                    @Override
                    public void sendHeaders(Metadata h) {
                        h.put(HEADER, "hi");
                        super.sendHeaders(h);
                    }

                    @Override
                    public void close(Status status, Metadata trailers) {
                        trailers.put(TRAILER, "done");
                        super.close(status, trailers);
                    }
                }, headers);
            }
        };
        Server s = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
                .addService(ServerInterceptors.intercept(def, metadata))
                .build().start();
        return new GrpcEcho(s, calls);
    }

    /**
     * @return calls that reached a method
     */
    public int calls() {
        return calls.get();
    }

    /**
     * @return {@code http://127.0.0.1:port}
     */
    public String url() {
        return "http://127.0.0.1:" + server.getPort();
    }

    /**
     * @return the descriptor set (one file), base64, as grpc-transcode takes it
     */
    public static String descriptorSetBase64() {
        return Base64.getEncoder().encodeToString(FileDescriptorSet.newBuilder().addFile(FILE).build().toByteArray());
    }

    public static DynamicMessage request(String text, int count) {
        return DynamicMessage.newBuilder(REQUEST).setField(REQUEST.findFieldByName("text"), text)
                .setField(REQUEST.findFieldByName("count"), count).build();
    }

    public static String text(DynamicMessage m) {
        return (String) m.getField(m.getDescriptorForType().findFieldByName("text"));
    }

    public static int index(DynamicMessage m) {
        return (Integer) m.getField(m.getDescriptorForType().findFieldByName("index"));
    }

    private static String idSuffix(DynamicMessage req) {
        String id = (String) req.getField(REQUEST.findFieldByName("id"));
        return id.isEmpty() ? "" : " #" + id;
    }

    private static DynamicMessage reply(String text, int index) {
        return DynamicMessage.newBuilder(REPLY).setField(REPLY.findFieldByName("text"), text)
                .setField(REPLY.findFieldByName("index"), index).build();
    }

    private static FieldDescriptorProto field(String name, int number, FieldDescriptorProto.Type type) {
        return FieldDescriptorProto.newBuilder().setName(name).setNumber(number).setType(type)
                .setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL).setJsonName(name).build();
    }

    private static MethodDescriptorProto method(String name, boolean clientStreaming, boolean serverStreaming) {
        return MethodDescriptorProto.newBuilder().setName(name).setInputType(".sluice.test.EchoRequest")
                .setOutputType(".sluice.test.EchoReply").setClientStreaming(clientStreaming)
                .setServerStreaming(serverStreaming).build();
    }

    private static MethodDescriptor<DynamicMessage, DynamicMessage> descriptor(String name,
                                                                             MethodDescriptor.MethodType type) {
        return MethodDescriptor.<DynamicMessage, DynamicMessage>newBuilder()
                .setType(type)
                .setFullMethodName(MethodDescriptor.generateFullMethodName("sluice.test.Echo", name))
                .setRequestMarshaller(ProtoUtils.marshaller(DynamicMessage.getDefaultInstance(REQUEST)))
                .setResponseMarshaller(ProtoUtils.marshaller(DynamicMessage.getDefaultInstance(REPLY)))
                .build();
    }

    @Override
    public void close() {
        server.shutdownNow();
    }
}
