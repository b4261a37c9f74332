package io.sluice.runtime.tls;

import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A route's mTLS check: the client's certificate chain (taken at the handshake, see {@link ServerCertificates})
 * must chain to one of the route's CAs and be valid now. PKIX validation by the JDK; revocation is not checked.
 * Results are cached per leaf certificate (a client sends the same one on every request of a connection) until the
 * leaf expires; the cache is bounded.
 */
public final class ClientCertificates {
    private static final int MAX_CACHED = 10_000;

    /** The outcome of a check. */
    public sealed interface Result permits Verified, Invalid {
    }

    /** @param subject the leaf's subject (RFC 2253) */
    public record Verified(String subject, long notAfterMillis) implements Result {
    }

    /** @param reason why the chain is refused */
    public record Invalid(String reason) implements Result {
    }

    private final Set<TrustAnchor> anchors;
    private final ConcurrentHashMap<X509Certificate, Verified> verified = new ConcurrentHashMap<>();

    /**
     * @param cas the CA certificates a client chain must lead to
     */
    public ClientCertificates(List<X509Certificate> cas) {
        Set<TrustAnchor> a = new LinkedHashSet<>();
        cas.forEach(c -> a.add(new TrustAnchor(c, null)));
        this.anchors = Set.copyOf(a);
    }

    /**
     * @param peer the client's chain as the TLS session has it (leaf first)
     * @return verified with the subject, or invalid with the reason
     */
    public Result check(Certificate[] peer) {
        if (peer.length == 0 || !(peer[0] instanceof X509Certificate leaf)) {
            return new Invalid("not an X.509 certificate");
        }
        long now = System.currentTimeMillis();
        Verified hit = verified.get(leaf);
        if (hit != null && now <= hit.notAfterMillis()) {
            return hit;
        }
        try {
            List<X509Certificate> chain = Arrays.stream(peer).map(c -> (X509Certificate) c)
                    .filter(c -> !isAnchor(c)).toList();
            if (chain.isEmpty()) {
                return new Invalid("the client sent a CA certificate, not its own");
            }
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false);
            CertPathValidator.getInstance("PKIX").validate(
                    CertificateFactory.getInstance("X.509").generateCertPath(chain), params);
        } catch (GeneralSecurityException | ClassCastException e) {
            return new Invalid(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        }
        Verified v = new Verified(leaf.getSubjectX500Principal().getName(), leaf.getNotAfter().getTime());
        if (verified.size() >= MAX_CACHED) {
            verified.clear();
        }
        verified.put(leaf, v);
        return v;
    }

    private boolean isAnchor(X509Certificate c) {
        for (TrustAnchor a : anchors) {
            if (a.getTrustedCert().equals(c)) {
                return true;
            }
        }
        return false;
    }
}
