package io.sluice.runtime.upstream;

import io.sluice.runtime.Node;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.Nodes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** A standalone node per test, configured through its admin API, and the real backends a test starts. */
abstract class UpstreamNodeFixture {
    @TempDir
    Path dir;
    Node node;
    AdminClient admin;
    final List<Backend> backends = new ArrayList<>();

    @BeforeEach
    void up() throws Exception {
        node = Nodes.standalone(dir.resolve("data"));
        admin = Nodes.admin(node);
    }

    @AfterEach
    void down() throws Exception {
        node.close();
        for (Backend b : backends) {
            b.close();
        }
    }

    Backend backend(String name) throws Exception {
        Backend b = Backend.start(name);
        backends.add(b);
        return b;
    }

    int proxyPort() {
        return node.server().proxyPort();
    }

    int adminPort() {
        return node.server().adminPort();
    }

    void put(String path, String json) {
        Resp r = admin.put(path, json);
        assertTrue(r.status() == 200 || r.status() == 201, "PUT " + path + ": " + r);
    }
}
