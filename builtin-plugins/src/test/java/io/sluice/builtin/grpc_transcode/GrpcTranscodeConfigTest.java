package io.sluice.builtin.grpc_transcode;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;
import com.google.protobuf.DescriptorProtos.ServiceDescriptorProto;
import io.sluice.builtin.ConfigCheck;
import io.sluice.plugin.FilterConfig;
import org.junit.jupiter.api.Test;

import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class GrpcTranscodeConfigTest {
    private final GrpcTranscodeFilterFactory factory = new GrpcTranscodeFilterFactory();

    /** package p; message M {} service S { rpc U(M) returns (M); rpc B(stream M) returns (stream M); } */
    private static String set() {
        FileDescriptorProto f = FileDescriptorProto.newBuilder().setName("p.proto").setPackage("p").setSyntax("proto3")
                .addMessageType(DescriptorProto.newBuilder().setName("M"))
                .addService(ServiceDescriptorProto.newBuilder().setName("S")
                        .addMethod(MethodDescriptorProto.newBuilder().setName("U").setInputType(".p.M")
                                .setOutputType(".p.M"))
                        .addMethod(MethodDescriptorProto.newBuilder().setName("B").setInputType(".p.M")
                                .setOutputType(".p.M").setClientStreaming(true).setServerStreaming(true)))
                .build();
        return Base64.getEncoder().encodeToString(FileDescriptorSet.newBuilder().addFile(f).build().toByteArray());
    }

    @Test
    void acceptsAUnaryMethod() {
        assertEquals(List.of(), ConfigCheck.problems(factory,
                "{\"descriptor_set\": \"" + set() + "\", \"service\": \"p.S\", \"method\": \"U\"}"));
        factory.create(FilterConfig.of(Map.of("descriptor_set", set(), "service", "p.S", "method", "U")));
    }

    @Test
    void pinsSchemaErrors() {
        assertEquals(List.of("descriptor_set: required property 'descriptor_set' not found"),
                ConfigCheck.problems(factory, "{\"service\": \"p.S\", \"method\": \"U\"}"));
        assertEquals(List.of("method: does not match the regex pattern ^[A-Za-z_][A-Za-z0-9_]*$"),
                ConfigCheck.problems(factory, "{\"descriptor_set\": \"" + set()
                        + "\", \"service\": \"p.S\", \"method\": \"p.S/U\"}"));
        assertEquals(List.of("descriptor_set: does not match the regex pattern ^[A-Za-z0-9+/=\\s]+$"),
                ConfigCheck.problems(factory, "{\"descriptor_set\": \"not base64!\", \"service\": \"p.S\","
                        + " \"method\": \"U\"}"));
    }

    @Test
    void refusesWhatTheDescriptorsDoNotHold() {
        assertEquals("service p.S has no method X (it has [U, B])", refused(set(), "p.S", "X"));
        assertEquals("p.S/B is bidirectional streaming; grpc-transcode maps unary methods only",
                refused(set(), "p.S", "B"));
        assertEquals("descriptor_set has no service q.S (it has [p.S])", refused(set(), "q.S", "U"));
        assertEquals("descriptor_set holds no files", refused("", "p.S", "U"));
        String notASet = Base64.getEncoder().encodeToString(new byte[] {(byte) 0xff, 1, 2, 3});
        assertEquals(true, refused(notASet, "p.S", "U").startsWith("descriptor_set is not a protobuf FileDescriptorSet"));
        FileDescriptorProto importer = FileDescriptorProto.newBuilder().setName("q.proto").addDependency("missing.proto")
                .build();
        String lacking = Base64.getEncoder().encodeToString(FileDescriptorSet.newBuilder().addFile(importer).build()
                .toByteArray());
        assertEquals("descriptor_set lacks missing.proto, which another file imports (build it with protoc"
                + " --include_imports)", refused(lacking, "p.S", "U"));
    }

    private String refused(String set, String service, String method) {
        return assertThrows(IllegalArgumentException.class, () -> factory.create(FilterConfig.of(Map.of(
                "descriptor_set", set, "service", service, "method", method)))).getMessage();
    }
}
