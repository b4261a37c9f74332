package io.sluice.runtime.upstream;

import io.sluice.plugin.Headers;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.io.ByteArrayInputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.UnresolvedAddressException;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import javax.net.ssl.SSLException;

import org.eclipse.jetty.client.ByteBufferRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamRequestContent;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.http.HttpCookieStore;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.client.transport.HttpClientTransportOverHTTP2;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.VirtualThreadPool;

/**
 * HTTP/2 to one target: {@code h2c} (prior knowledge, no TLS), {@code h2} (TLS with ALPN {@code h2}) and
 * {@code grpc} (either, by the target's scheme, with {@code te: trailers} sent). Requests are streams multiplexed
 * over at most {@code maxConnections} connections; at most {@code maxActive} are in flight (past that a request
 * fails at once, not sent, as {@link ConnectionPool} does). Bodies stream both ways, full duplex, and the
 * response's trailers are kept ({@link UpstreamResponse#trailers()}).
 *
 * <p>Built on Jetty's HTTP/2 client rather than Helidon WebClient HTTP/2 (4.3.4), whose client exposes response
 * trailers only when the server announced them with a {@code Trailer} header (gRPC servers do not), answers a
 * server's RST_STREAM by throwing on the connection's reader thread, and sends a request body before it reads the
 * response. Jetty's client reads trailers as they come, resets one stream without the others, pools multiplexed
 * connections with a bound, and runs on virtual threads here.
 */
public final class Http2Transport implements Transport {
    private final String host;
    private final int port;
    private final UpstreamTls tls;
    private final boolean grpc;
    private final String authority;
    private final String scheme;
    private final String requestHost;
    private final int maxActive;
    private final AtomicInteger active = new AtomicInteger();
    private final HttpClient client;
    private volatile boolean draining;

    /**
     * @param host             target host
     * @param port             target port
     * @param tls              TLS options (h2), or null for h2c
     * @param grpc             send {@code te: trailers} (a gRPC server may require it)
     * @param maxActive        streams in flight at once
     * @param maxConnections   connections kept to the target (each carries many streams)
     * @param connectTimeoutMs connect and TLS handshake timeout
     * @param maxIdleMillis    an idle connection is closed after this
     */
    Http2Transport(String host, int port, UpstreamTls tls, boolean grpc, int maxActive, int maxConnections,
                   int connectTimeoutMs, long maxIdleMillis) {
        this.host = host;
        this.port = port;
        this.tls = tls;
        this.grpc = grpc;
        this.maxActive = maxActive;
        this.scheme = tls == null ? "http" : "https";
        this.authority = port == (tls == null ? 80 : 443) ? host : host + ":" + port;
        // the request names the TLS server name (SNI and certificate check); the socket goes to the target
        this.requestHost = tls == null ? host : tls.serverName(host);
        ClientConnector connector = new ClientConnector();
        connector.setSelectors(1);
        if (tls != null) {
            SslContextFactory.Client ssl = new SslContextFactory.Client();
            ssl.setSslContext(tls.context());
            ssl.setEndpointIdentificationAlgorithm(tls.verify() ? "HTTPS" : null);
            ssl.setTrustAll(!tls.verify());
            connector.setSslContextFactory(ssl);
        }
        HTTP2Client h2 = new HTTP2Client(connector);
        h2.setMaxConcurrentPushedStreams(0);
        client = new HttpClient(new HttpClientTransportOverHTTP2(h2));
        VirtualThreadPool threads = new VirtualThreadPool();
        threads.setName("sluice-h2-" + authority);
        client.setExecutor(threads);
        client.setConnectTimeout(connectTimeoutMs);
        client.setIdleTimeout(maxIdleMillis);
        client.setFollowRedirects(false);
        client.setUserAgentField(null);
        client.getContentDecoderFactories().clear();   // bodies pass through as they are encoded
        client.getProtocolHandlers().clear();          // no 401/redirect/100-continue handling: the client's job
        client.setHttpCookieStore(new HttpCookieStore.Empty());
        client.setMaxConnectionsPerDestination(maxConnections);
        client.setMaxRequestsQueuedPerDestination(maxActive);
        client.setSocketAddressResolver((h, p, ctx, promise) -> {
            try {
                InetSocketAddress a = new InetSocketAddress(host, port);
                if (a.isUnresolved()) {
                    promise.failed(new UnknownHostException(host));
                } else {
                    promise.succeeded(List.of(a));
                }
            } catch (RuntimeException e) {
                promise.failed(e);
            }
        });
        try {
            client.start();
        } catch (Exception e) {
            throw new IllegalStateException("HTTP/2 client for " + authority + " did not start: " + e, e);
        }
    }

    @Override
    public String authority() {
        return authority;
    }

    @Override
    public int active() {
        return active.get();
    }

    /**
     * @return whether it speaks TLS
     */
    public boolean secure() {
        return tls != null;
    }

    @Override
    public void drain() {
        draining = true;
        if (active.get() == 0) {
            stop();
        }
    }

    void close() {
        draining = true;
        stop();
    }

    private void stop() {
        Thread.ofVirtual().name("sluice-h2-stop").start(() -> {
            try {
                client.stop();
            } catch (Exception ignored) {
                // closing anyway
            }
        });
    }

    private void done() {
        if (active.decrementAndGet() == 0 && draining) {
            stop();
        }
    }

    @Override
    public UpstreamResponse send(UpstreamRequest request, int connectTimeoutMs, int readTimeoutMs)
            throws UpstreamException, ClientBodyException {
        if (draining) {
            throw UpstreamException.notSent(UpstreamException.Kind.UNAVAILABLE,
                    "transport to " + authority + " is closing", null);
        }
        if (active.incrementAndGet() > maxActive) {
            active.decrementAndGet();
            throw UpstreamException.notSent(UpstreamException.Kind.POOL_EXHAUSTED,
                    "all " + maxActive + " streams to " + authority + " are busy", null);
        }
        AtomicBoolean committed = new AtomicBoolean();
        AtomicReference<IOException> clientBodyFailure = new AtomicReference<>();
        Request r;
        InputStreamResponseListener listener = new InputStreamResponseListener();
        try {
            r = client.newRequest(scheme + "://" + hostForUri(requestHost) + ":" + port)
                    .method(request.method())
                    .path(request.target())
                    .idleTimeout(readTimeoutMs, TimeUnit.MILLISECONDS)
                    .onRequestCommit(x -> committed.set(true));
            Headers h = request.headers();
            r.headers(out -> {
                for (int i = 0, n = h.size(); i < n; i++) {
                    String name = h.name(i);
                    if (!name.equalsIgnoreCase("Host")) {
                        out.add(name, h.value(i));
                    }
                }
                if (grpc) {
                    out.put(HttpHeader.TE, "trailers");
                }
            });
            switch (request.body()) {
                case RequestBody.None none -> { }
                case RequestBody.Buffered b -> r.body(new ByteBufferRequestContent(
                        ByteBuffer.wrap(b.bytes(), 0, b.length())));
                case RequestBody.Streamed s -> {
                    InputStream in = new SequenceInputStream(new ByteArrayInputStream(s.head(), 0, s.headLength()),
                            s.rest());
                    r.body(new InputStreamRequestContent(new ClientBody(in, clientBodyFailure)));
                    if (s.contentLength() >= 0) {
                        r.headers(out -> out.put(HttpHeader.CONTENT_LENGTH, Long.toString(s.contentLength())));
                    }
                }
            }
            r.send(listener);
        } catch (RuntimeException e) {
            done();
            throw e;
        }
        Response response;
        try {
            // the request's idle timeout bounds the wait once sent; this bound only keeps a lost callback finite
            response = listener.get((long) connectTimeoutMs + readTimeoutMs + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            r.abort(e);
            done();
            Thread.currentThread().interrupt();
            throw new UpstreamException(UpstreamException.Kind.UNAVAILABLE, "call to " + authority + " cancelled", e);
        } catch (TimeoutException e) {
            r.abort(e);
            done();
            throw new UpstreamException(UpstreamException.Kind.TIMEOUT,
                    "upstream " + authority + " did not answer within " + readTimeoutMs + " ms", e);
        } catch (ExecutionException e) {
            done();
            if (clientBodyFailure.get() != null) {
                throw new ClientBodyException(clientBodyFailure.get());
            }
            throw classify(e.getCause(), committed.get(), readTimeoutMs);
        }
        return response(request.method(), response, r, listener);
    }

    private UpstreamResponse response(String method, Response response, Request r,
                                      InputStreamResponseListener listener) {
        Headers headers = new Headers();
        long length = -1;
        for (HttpField f : response.getHeaders()) {
            String name = f.getName();
            if (f.getHeader() == HttpHeader.CONTENT_LENGTH) {
                try {
                    length = Long.parseLong(f.getValue().strip());
                } catch (NumberFormatException e) {
                    length = -1;
                }
                continue;
            }
            if (Hop.classify(name) == Hop.Kind.END_TO_END) {
                headers.add(name, f.getValue());
            }
        }
        int status = response.getStatus();
        boolean noBody = method.equals("HEAD") || status == 204 || status == 304;
        if (noBody && length >= 0 && status != 204) {
            headers.set("Content-Length", Long.toString(length));   // HEAD/304 keep the length they describe
        }
        Body body = new Body(listener.getInputStream(), r);
        Supplier<Headers> trailers = () -> {
            HttpFields t = response.getTrailers();
            Headers out = new Headers();
            if (t != null) {
                for (HttpField f : t) {
                    out.add(f.getName(), f.getValue());
                }
            }
            return out;
        };
        if (noBody) {
            body.close();
            return new UpstreamResponse(status, headers, 0, InputStream.nullInputStream(), trailers);
        }
        return new UpstreamResponse(status, headers, length, body, trailers);
    }

    private UpstreamException classify(Throwable cause, boolean sent, int readTimeoutMs) {
        String what = cause == null ? "unknown failure" : cause.getMessage() != null ? cause.getMessage()
                : cause.getClass().getSimpleName();
        if (cause instanceof RejectedExecutionException) {
            return UpstreamException.notSent(UpstreamException.Kind.POOL_EXHAUSTED,
                    "too many requests queued for " + authority + ": " + what, cause);
        }
        boolean timeout = cause instanceof TimeoutException || cause instanceof SocketTimeoutException;
        if (!sent) {
            if (timeout) {
                return UpstreamException.notSent(UpstreamException.Kind.TIMEOUT,
                        "connect to " + authority + " timed out", cause);
            }
            String prefix = cause instanceof SSLException ? "TLS handshake with " + host + ":" + port + " failed: "
                    : cause instanceof ConnectException || cause instanceof UnresolvedAddressException
                    || cause instanceof UnknownHostException ? "connect to " + authority + " failed: "
                    : "upstream " + authority + " failed before the request was sent: ";
            return UpstreamException.notSent(UpstreamException.Kind.UNAVAILABLE, prefix + what, cause);
        }
        if (timeout) {
            return new UpstreamException(UpstreamException.Kind.TIMEOUT,
                    "upstream " + authority + " did not answer within " + readTimeoutMs + " ms", cause);
        }
        return new UpstreamException(UpstreamException.Kind.UNAVAILABLE,
                "upstream " + authority + " failed: " + what, cause);
    }

    private static String hostForUri(String host) {
        return host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    /** The response body: ends the stream's accounting at its end, resets the stream when closed early. */
    private final class Body extends FilterInputStream {
        private final Request request;
        private boolean ended;

        Body(InputStream in, Request request) {
            super(in);
            this.request = request;
        }

        @Override
        public int read() throws IOException {
            int b;
            try {
                b = super.read();
            } catch (IOException e) {
                end(e);
                throw e;
            }
            if (b < 0) {
                end(null);
            }
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            int n;
            try {
                n = super.read(buf, off, len);
            } catch (IOException e) {
                end(e);
                throw e;
            }
            if (n < 0) {
                end(null);
            }
            return n;
        }

        @Override
        public void close() {
            if (!ended) {
                end(new IOException("response body closed before its end"));
            }
        }

        private void end(IOException failure) {
            if (ended) {
                return;
            }
            ended = true;
            if (failure != null) {
                request.abort(failure);
                try {
                    in.close();
                } catch (IOException ignored) {
                    // aborted either way
                }
            }
            done();
        }
    }

    /** The client's body as Jetty reads it: a read failure is remembered (it is the client's, not upstream's). */
    private static final class ClientBody extends FilterInputStream {
        private final AtomicReference<IOException> failure;

        ClientBody(InputStream in, AtomicReference<IOException> failure) {
            super(in);
            this.failure = failure;
        }

        @Override
        public int read() throws IOException {
            try {
                return super.read();
            } catch (IOException e) {
                failure.set(e);
                throw e;
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return super.read(b, off, len);
            } catch (IOException e) {
                failure.set(e);
                throw e;
            }
        }
    }
}
