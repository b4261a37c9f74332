package io.sluice.builtin.grpc_transcode;

import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors;
import com.google.protobuf.InvalidProtocolBufferException;
import io.sluice.builtin.Schemas;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;

import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code grpc-transcode}: HTTP/JSON in front of one unary gRPC method. The config's descriptor set is read, and the
 * service and method checked (they exist, the method is unary), when the route is built; a config that fails is
 * refused with the reason.
 */
public final class GrpcTranscodeFilterFactory implements FilterFactory {
    static final String NAME = "grpc-transcode";
    private static final FilterDescriptor DESCRIPTOR = new FilterDescriptor(NAME, "1.0.0",
            Schemas.load(GrpcTranscodeFilterFactory.class, NAME),
            "Turns an HTTP/JSON request into a call of one unary gRPC method (path parameters, query and JSON body"
                    + " make the request message) and its reply or grpc-status into JSON and an HTTP status.");

    @Override
    public FilterDescriptor descriptor() {
        return DESCRIPTOR;
    }

    @Override
    public Filter create(FilterConfig config) {
        String service = config.string("service").orElseThrow();
        String method = config.string("method").orElseThrow();
        Descriptors.MethodDescriptor m = method(config.string("descriptor_set").orElseThrow(), service, method);
        return new GrpcTranscodeFilter(m);
    }

    /**
     * Finds a unary method in a base64 descriptor set.
     *
     * @throws IllegalArgumentException saying what is missing or wrong
     */
    static Descriptors.MethodDescriptor method(String base64, String service, String method) {
        byte[] bytes;
        try {
            bytes = Base64.getMimeDecoder().decode(base64.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("descriptor_set is not base64: " + e.getMessage());
        }
        FileDescriptorSet set;
        try {
            set = FileDescriptorSet.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("descriptor_set is not a protobuf FileDescriptorSet: " + e.getMessage());
        }
        if (set.getFileCount() == 0) {
            throw new IllegalArgumentException("descriptor_set holds no files");
        }
        Map<String, FileDescriptorProto> protos = new HashMap<>();
        set.getFileList().forEach(f -> protos.put(f.getName(), f));
        Map<String, Descriptors.FileDescriptor> built = new HashMap<>();
        List<String> services = new ArrayList<>();
        for (FileDescriptorProto f : set.getFileList()) {
            Descriptors.FileDescriptor fd = build(f.getName(), protos, built, 0);
            for (Descriptors.ServiceDescriptor s : fd.getServices()) {
                services.add(s.getFullName());
                if (s.getFullName().equals(service)) {
                    Descriptors.MethodDescriptor m = s.findMethodByName(method);
                    if (m == null) {
                        throw new IllegalArgumentException("service " + service + " has no method " + method
                                + " (it has " + s.getMethods().stream().map(Descriptors.MethodDescriptor::getName)
                                .toList() + ")");
                    }
                    if (m.isClientStreaming() || m.isServerStreaming()) {
                        throw new IllegalArgumentException(service + "/" + method + " is "
                                + (m.isClientStreaming() && m.isServerStreaming() ? "bidirectional streaming"
                                : m.isClientStreaming() ? "client streaming" : "server streaming")
                                + "; grpc-transcode maps unary methods only");
                    }
                    return m;
                }
            }
        }
        throw new IllegalArgumentException("descriptor_set has no service " + service + " (it has " + services + ")");
    }

    private static Descriptors.FileDescriptor build(String name, Map<String, FileDescriptorProto> protos,
                                                    Map<String, Descriptors.FileDescriptor> built, int depth) {
        Descriptors.FileDescriptor done = built.get(name);
        if (done != null) {
            return done;
        }
        FileDescriptorProto p = protos.get(name);
        if (p == null) {
            throw new IllegalArgumentException("descriptor_set lacks " + name + ", which another file imports"
                    + " (build it with protoc --include_imports)");
        }
        if (depth > 64) {
            throw new IllegalArgumentException("descriptor_set imports nest too deep at " + name);
        }
        List<Descriptors.FileDescriptor> deps = new ArrayList<>();
        for (String d : p.getDependencyList()) {
            deps.add(build(d, protos, built, depth + 1));
        }
        try {
            Descriptors.FileDescriptor fd = Descriptors.FileDescriptor.buildFrom(p,
                    deps.toArray(Descriptors.FileDescriptor[]::new));
            built.put(name, fd);
            return fd;
        } catch (Descriptors.DescriptorValidationException e) {
            throw new IllegalArgumentException("descriptor_set file " + name + " is invalid: " + e.getMessage());
        }
    }
}
