package io.sluice.runtime;

/**
 * A filter that makes, before it serves, what its first requests would otherwise make on the request path (a
 * JavaScript filter's contexts). The gateway calls it for every filter new in a config snapshot before the snapshot
 * serves, off the request path.
 */
public interface Preparable {

    /** Makes it ready to serve; failures are its own to handle (it must still serve, if colder). */
    void prepare();
}
