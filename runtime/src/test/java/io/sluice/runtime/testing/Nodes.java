package io.sluice.runtime.testing;

import io.sluice.runtime.Node;
import io.sluice.runtime.SluiceServer.Listeners;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/** A standalone node on free loopback ports with the embedded store, and calls to it. */
public final class Nodes {
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private Nodes() {
    }

    /**
     * @param dataDir its data directory
     * @return the running node (its bootstrap token in {@link Node#generatedToken()})
     */
    public static Node standalone(Path dataDir) throws Node.StartException {
        return Node.start(new Node.Options("standalone", dataDir,
                new Listeners("127.0.0.1", 0, "127.0.0.1", 0, true), Optional.empty(), Optional.empty(),
                Optional.empty(), Duration.ofSeconds(5)));
    }

    /** @return an admin client with the node's bootstrap token */
    public static AdminClient admin(Node node) {
        return new AdminClient(node.server().adminPort(), node.generatedToken().orElseThrow());
    }

    /**
     * GET through the node's proxy listener.
     *
     * @param headers name, value, name, value, ...
     */
    public static HttpResponse<String> get(Node node, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.server().proxyPort()
                + path)).timeout(Duration.ofSeconds(10));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
