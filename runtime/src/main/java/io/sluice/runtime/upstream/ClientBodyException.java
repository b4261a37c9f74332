package io.sluice.runtime.upstream;

import java.io.IOException;

/**
 * Reading the client's request body failed while it was being sent upstream: the client's fault (bad chunking,
 * body over a limit, client gone), not the upstream's. The upstream connection has been closed.
 */
public final class ClientBodyException extends IOException {
    /**
     * @param cause what the client stream threw
     */
    public ClientBodyException(IOException cause) {
        super(cause.getMessage(), cause);
    }
}
