package io.sluice.runtime.upstream;

import io.sluice.plugin.Headers;

import java.io.IOException;
import java.io.InputStream;
import java.util.function.Supplier;

/**
 * A response head from upstream and its body as a stream. Reading the body to its end returns the connection to
 * the pool; closing the stream early closes the connection.
 *
 * @param status        status code
 * @param headers       end-to-end headers (hop-by-hop and framing headers removed)
 * @param contentLength body length, -1 when unknown (chunked or close-delimited); 0 for no body
 * @param body          the body
 * @param trailers      the trailer fields, known once the body has been read to its end (HTTP/2 and gRPC
 *                      upstreams; empty for HTTP/1.1, whose chunked trailers are dropped)
 */
public record UpstreamResponse(int status, Headers headers, long contentLength, InputStream body,
                               Supplier<Headers> trailers) {
    private static final Supplier<Headers> NO_TRAILERS = Headers::new;

    /**
     * A response without trailers.
     *
     * @param status        status code
     * @param headers       end-to-end headers
     * @param contentLength body length, -1 when unknown, 0 for no body
     * @param body          the body
     */
    public UpstreamResponse(int status, Headers headers, long contentLength, InputStream body) {
        this(status, headers, contentLength, body, NO_TRAILERS);
    }

    /**
     * Reads the whole body.
     *
     * @param max largest body accepted
     * @return the bytes
     * @throws IOException on read failure or when the body is larger than {@code max}
     */
    public byte[] readBody(int max) throws IOException {
        if (contentLength >= 0) {
            if (contentLength > max) {
                body.close();
                throw new IOException("upstream body larger than " + max + " bytes");
            }
            byte[] bytes = new byte[(int) contentLength];   // one array, no intermediate chunks
            int n = 0;
            while (n < bytes.length) {
                int r = body.read(bytes, n, bytes.length - n);
                if (r < 0) {
                    throw new java.io.EOFException("upstream body ended " + (bytes.length - n) + " bytes early");
                }
                n += r;
            }
            return bytes;
        }
        byte[] bytes = body.readNBytes(max + 1);
        if (bytes.length > max) {
            body.close();
            throw new IOException("upstream body larger than " + max + " bytes");
        }
        return bytes;
    }
}
