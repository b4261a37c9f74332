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
     * Sends a protocol-upgrade request (a WebSocket handshake) on a connection of its own, never a kept-alive one,
     * and reads the answer's head.
     *
     * @param request          the handshake: a GET without body whose headers ask for the upgrade
     * @param connectTimeoutMs connect (and TLS handshake) timeout
     * @param readTimeoutMs    longest wait for the answer's head
     * @return a 101 whose headers are as received and whose body is the {@link Switched} connection, or any other
     *         answer (the upgrade refused), framed as {@link #send} frames it, its connection closed after it
     * @throws UpstreamException classified failure; a transport that cannot switch protocols refuses not-sent
     */
    default UpstreamResponse upgrade(UpstreamRequest request, int connectTimeoutMs, int readTimeoutMs)
            throws UpstreamException, ClientBodyException {
        throw UpstreamException.notSent(UpstreamException.Kind.PROTOCOL,
                "this upstream's transport cannot switch protocols", null);
    }

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
