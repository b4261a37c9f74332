package io.sluice.runtime.upstream;

/**
 * How requests reach one target: the seam between the balancer (which picks a target) and the wire. A target's
 * transport owns its connections (bounded, idle-expiring). Today's one implementation is {@link ConnectionPool}
 * (HTTP/1.1, plain or TLS); an HTTP/2 or gRPC transport is another implementation behind the same calls.
 */
public interface Transport {

    /**
     * Sends a request and reads the response head.
     *
     * @param request          the request (its target is origin-form: path and query)
     * @param connectTimeoutMs connect (and TLS handshake) timeout
     * @param readTimeoutMs    longest wait for the response head and between body reads
     * @return the response; its body must be read to the end or closed
     * @throws UpstreamException   classified failure ({@link UpstreamException#sent()} says whether any byte of
     *                             the request may have reached the target)
     * @throws ClientBodyException when reading the client's body failed
     */
    UpstreamResponse send(UpstreamRequest request, int connectTimeoutMs, int readTimeoutMs)
            throws UpstreamException, ClientBodyException;

    /**
     * @return the value of the upstream {@code Host} header ({@code host[:port]})
     */
    String authority();

    /**
     * @return connections in use now
     */
    int active();

    /**
     * Stops keeping connections: idle ones are closed now, in-use ones when their request ends. Requests in
     * flight finish normally. Called when the target leaves its upstream.
     */
    void drain();
}
