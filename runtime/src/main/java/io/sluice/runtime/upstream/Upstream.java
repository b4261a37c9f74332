package io.sluice.runtime.upstream;

import io.sluice.plugin.Headers;
import io.sluice.registry.config.GatewayConfig.ActiveCheck;
import io.sluice.registry.config.GatewayConfig.PassiveCheck;
import io.sluice.registry.config.GatewayConfig.Target;
import io.sluice.registry.config.GatewayConfig.UpstreamSpec;

import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One upstream on this data plane: its endpoints (fixed, registered, and discovered by DNS), the balancer over
 * them, and their health (active checks, passive ejection). Routes that name the same shared upstream share this
 * object, so they share its balancing and health state; an inline upstream has one of its own.
 *
 * <p>Its config is fixed: a config change that edits an upstream makes a new object from the old one, which takes
 * over the endpoints whose target stays (with their connections, latency estimate, health and the last DNS answer),
 * so that a snapshot and the upstreams it uses change together. The request path reads one volatile field
 * ({@link #pick}); only DNS discovery changes the endpoints of a live upstream.
 */
public final class Upstream implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Upstream.class.getName());

    /** What the request path reads: one immutable view per membership. */
    private record View(UpstreamSpec spec, Endpoint[] endpoints, Balancer balancer, Balancer.Kind kind) {
    }

    private final String key;
    private final UpstreamClient client;
    private final Runnable membershipChanged;
    private final ReentrantLock lock = new ReentrantLock();
    private volatile View view;
    private List<DnsResolver.Resolved> discovered = List.of();
    private DnsDiscovery dns;
    private Thread checker;
    private volatile boolean closed;
    private final DnsResolver resolver;

    /**
     * @param key               {@code upstream:<id>} for a shared upstream, {@code route:<id>:<group>} inline
     * @param spec              its config
     * @param client            where the targets' connection pools come from
     * @param resolver          DNS for discovery
     * @param membershipChanged told when discovery changed the endpoints (so unused pools can be closed)
     * @param previous          the upstream this one replaces (same key, older config), or null
     */
    public Upstream(String key, UpstreamSpec spec, UpstreamClient client, DnsResolver resolver,
                    Runnable membershipChanged, Upstream previous) {
        this.key = key;
        this.client = client;
        this.resolver = resolver;
        this.membershipChanged = membershipChanged;
        lock.lock();
        try {
            Map<String, Endpoint> existing = Map.of();
            if (previous != null) {
                existing = byUrl(previous.view.endpoints());
                if (previous.spec().discovery().equals(spec.discovery())) {
                    discovered = previous.discoveredNow();
                }
            }
            view = build(spec, existing);
        } finally {
            lock.unlock();
        }
    }

    private List<DnsResolver.Resolved> discoveredNow() {
        lock.lock();
        try {
            return discovered;
        } finally {
            lock.unlock();
        }
    }

    /**
     * @return its key ({@code upstream:<id>} or {@code route:<id>:<group>})
     */
    public String key() {
        return key;
    }

    /**
     * @return its config now
     */
    public UpstreamSpec spec() {
        return view.spec();
    }

    /**
     * Starts what runs in the background: active health checks and DNS discovery, as configured.
     */
    public void start() {
        DnsDiscovery d;
        boolean wait;
        lock.lock();
        try {
            if (closed || checker != null || dns != null) {
                return;
            }
            UpstreamSpec spec = view.spec();
            spec.active().ifPresent(c -> checker = Thread.ofVirtual().name("sluice-health-" + key)
                    .start(() -> checkLoop(c)));
            if (spec.discovery().isEmpty()) {
                return;
            }
            dns = new DnsDiscovery(resolver, spec.discovery().get().dns(), spec.discovery().get().refreshMs(),
                    this::discovered);
            d = dns;
            wait = discovered.isEmpty();
        } finally {
            lock.unlock();
        }
        // outside the lock: the first answer arrives through discovered(), which takes it
        if (wait) {
            startQuietly(d);   // a new upstream: its first answer before it serves (bounded by the DNS timeout)
        } else {
            Thread.ofVirtual().name("sluice-dns-start").start(() -> startQuietly(d));   // it has the last answer
        }
    }

    private static void startQuietly(DnsDiscovery d) {
        try {
            d.start();
        } catch (IllegalStateException closedMeanwhile) {
            // replaced before it started: nothing to do
        }
    }

    private static Map<String, Endpoint> byUrl(Endpoint[] endpoints) {
        Map<String, Endpoint> m = new HashMap<>();
        for (Endpoint e : endpoints) {
            m.put(e.url(), e);
        }
        return m;
    }

    private static boolean someLeft(Endpoint[] before, Endpoint[] after) {
        Map<String, Endpoint> kept = byUrl(after);
        for (Endpoint e : before) {
            if (kept.get(e.url()) != e) {
                return true;
            }
        }
        return false;
    }

    /** The view for a spec and the discovered targets, reusing the endpoints that stay. Called under the lock. */
    private View build(UpstreamSpec spec, Map<String, Endpoint> existing) {
        UpstreamTls tls = needsTls(spec) ? UpstreamTls.of(spec.tls().verify(), spec.tls().ca(), spec.tls().sni(),
                spec.tls().clientCert(), spec.tls().clientKey()) : null;
        List<Endpoint> out = new ArrayList<>();
        for (Target t : spec.targets()) {
            if (t.weight() > 0) {
                out.add(endpoint(t.url(), t.weight(), tls, existing, spec));
            }
        }
        if (spec.discovery().isPresent()) {
            String scheme = spec.discovery().get().scheme();
            for (DnsResolver.Resolved r : discovered) {
                InetSocketAddress a = r.address();
                String host = a.getAddress().getHostAddress();
                if (host.indexOf(':') >= 0) {
                    host = "[" + host + "]";
                }
                out.add(endpoint(URI.create(scheme + "://" + host + ":" + a.getPort()), Math.max(1, r.weight()),
                        tls, existing, spec));
            }
        }
        Endpoint[] endpoints = out.toArray(Endpoint[]::new);
        Balancer.Kind kind = Balancer.Kind.of(spec.balancer());
        return new View(spec, endpoints, Balancer.create(kind, endpoints), kind);
    }

    /**
     * Checks what building the upstream could refuse (its TLS material) without making it.
     *
     * @param spec the config
     * @throws IllegalArgumentException with what is wrong
     */
    public static void check(UpstreamSpec spec) {
        // whenever tls is written, not only with https targets: a target registered later must not be the one
        // refused for material nobody checked
        if (needsTls(spec) || !spec.tls().equals(io.sluice.registry.config.GatewayConfig.TlsSpec.DEFAULTS)) {
            UpstreamTls.of(spec.tls().verify(), spec.tls().ca(), spec.tls().sni(), spec.tls().clientCert(),
                    spec.tls().clientKey());
        }
    }

    private static boolean needsTls(UpstreamSpec spec) {
        return spec.targets().stream().anyMatch(t -> "https".equalsIgnoreCase(t.url().getScheme()))
                || spec.discovery().map(d -> d.scheme().equals("https")).orElse(false);
    }

    private Endpoint endpoint(URI u, int weight, UpstreamTls tls, Map<String, Endpoint> existing,
                              UpstreamSpec spec) {
        boolean https = "https".equalsIgnoreCase(u.getScheme());
        String url = u.toString();
        Endpoint e = existing.get(url);
        int port = u.getPort() < 0 ? (https ? 443 : 80) : u.getPort();
        // http1: the HTTP/1.1 pool; h2c, h2, grpc: HTTP/2 (TLS by the URL's scheme; the config allows h2c only
        // with http:// and h2 only with https://)
        Transport pool = spec.protocol().equals("http1") ? client.pool(u.getHost(), port, https ? tls : null)
                : client.http2(u.getHost(), port, https ? tls : null, spec.protocol().equals("grpc"),
                        spec.connectTimeoutMs());
        if (e != null && e.transport() == pool) {
            e.weight(weight);
            return e;
        }
        String base = u.getRawPath() == null || u.getRawPath().equals("/") ? "" : u.getRawPath();
        if (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        return new Endpoint(url, base, weight, pool);
    }

    private void discovered(List<DnsResolver.Resolved> targets) {
        boolean left;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            discovered = List.copyOf(targets);
            View next = build(view.spec(), byUrl(view.endpoints()));
            left = someLeft(view.endpoints(), next.endpoints());
            view = next;
            LOG.log(Level.INFO, () -> "upstream " + key + ": DNS gave " + targets.size() + " targets");
        } finally {
            lock.unlock();
        }
        if (left) {
            membershipChanged.run();   // outside the lock: the pools of targets DNS dropped close if unused
        }
    }

    /**
     * Picks the endpoint for an attempt.
     *
     * @param hashKey the request's hash key (consistent_hash), or null
     * @param tried   endpoints this request already tried, or null
     * @return the endpoint, or null when there is none left to try
     */
    public Endpoint pick(String hashKey, Endpoint[] tried) {
        return view.balancer().pick(hashKey, tried);
    }

    /**
     * @return whether the balancer hashes (then the caller computes the request's key)
     */
    public boolean hashes() {
        return view.kind() == Balancer.Kind.CONSISTENT_HASH;
    }

    /**
     * @return the endpoints now
     */
    public Endpoint[] endpoints() {
        return view.endpoints();
    }

    /**
     * An attempt at an endpoint failed or answered: feeds passive outlier ejection.
     *
     * @param e      the endpoint
     * @param status the upstream's status, or 0 when it failed without one
     * @param detail what happened, for the reason shown
     */
    public void report(Endpoint e, int status, String detail) {
        if (status != 0 && status < 500) {   // the common case, without boxing: failure statuses are all 5xx
            e.health.succeeded();
            return;
        }
        PassiveCheck p = view.spec().passive();
        if (status != 0 && !p.statuses().contains(status)) {
            e.health.succeeded();
            return;
        }
        if (e.health.failed(status == 0 ? detail : "status " + status, p.consecutiveFailures(), p.ejectMs(),
                () -> mayEject(p))) {
            LOG.log(Level.WARNING, "upstream " + key + ": target " + e.url() + " ejected: " + e.health.reason());
        }
    }

    private boolean mayEject(PassiveCheck p) {
        Endpoint[] all = view.endpoints();
        int ejected = 0;
        for (Endpoint x : all) {
            if (x.health.ejected()) {
                ejected++;
            }
        }
        // one more ejection must keep the ejected share within the cap
        return (ejected + 1) * 100 <= p.maxEjectedPercent() * all.length;
    }

    private void checkLoop(ActiveCheck c) {
        while (!closed && !Thread.currentThread().isInterrupted()) {
            long started = System.nanoTime();
            Endpoint[] all = view.endpoints();
            List<Thread> probes = new ArrayList<>(all.length);
            for (Endpoint e : all) {
                probes.add(Thread.ofVirtual().name("sluice-probe").start(() -> probe(e, c)));
            }
            try {
                for (Thread t : probes) {
                    t.join();
                }
                long left = c.intervalMs() - (System.nanoTime() - started) / 1_000_000;
                if (left > 0) {
                    Thread.sleep(left);
                }
            } catch (InterruptedException ex) {
                probes.forEach(Thread::interrupt);
                return;
            }
        }
    }

    private void probe(Endpoint e, ActiveCheck c) {
        boolean ok;
        String detail;
        Headers headers = new Headers();
        headers.add("User-Agent", "sluice-health-check");
        String target = e.basePath() + c.path();
        try {
            UpstreamResponse r = e.transport().send(new UpstreamRequest("GET", target, headers, RequestBody.NONE),
                    c.timeoutMs(), c.timeoutMs());
            try (InputStream body = r.body()) {
                body.skipNBytes(Math.min(Math.max(r.contentLength(), 0), 64 * 1024));
            } catch (IOException ignored) {
                // the verdict is the status; a body cut short only costs the connection
            }
            ok = c.statuses().isEmpty() ? r.status() >= 200 && r.status() < 400 : c.statuses().contains(r.status());
            detail = "GET " + c.path() + " answered " + r.status();
        } catch (UpstreamException ex) {
            ok = false;
            detail = "GET " + c.path() + ": " + ex.getMessage();
        } catch (IOException | RuntimeException ex) {
            ok = false;
            detail = "GET " + c.path() + ": " + ex;
        }
        if (closed) {
            return;
        }
        if (e.health.probed(ok, detail, c.healthy(), c.unhealthy())) {
            String d = detail;
            LOG.log(ok ? Level.INFO : Level.WARNING, () -> "upstream " + key + ": target " + e.url() + " is "
                    + (e.health.state().wire()) + " (" + d + ")");
        }
    }

    /**
     * @return each target's health now, for the admin API and metrics
     */
    public List<TargetStatus> health() {
        List<TargetStatus> out = new ArrayList<>();
        for (Endpoint e : view.endpoints()) {
            out.add(new TargetStatus(e.url(), e.weight(), e.health.state(), e.health.reason(),
                    e.health.changedAtMillis(), e.health.ejections(), e.inflight(), e.latencyNanos()));
        }
        return out;
    }

    /**
     * One target's health as shown.
     *
     * @param url        the target
     * @param weight     its weight
     * @param state      healthy, unhealthy or ejected
     * @param reason     why
     * @param sinceMillis when the state or reason last changed
     * @param ejections  times ejected
     * @param inflight   requests in flight
     * @param latencyNanos its latency estimate
     */
    public record TargetStatus(String url, int weight, TargetHealth.State state, String reason, long sinceMillis,
                               int ejections, int inflight, double latencyNanos) {
    }

    /**
     * @return the last DNS error, if discovery is failing (the last good answer is kept)
     */
    public Optional<String> discoveryError() {
        lock.lock();
        try {
            return dns == null ? Optional.empty() : Optional.ofNullable(dns.lastError());
        } finally {
            lock.unlock();
        }
    }

    /** The transports (HTTP/1.1 pools, HTTP/2 clients) its endpoints use now. */
    void poolsInto(java.util.Set<Transport> out) {
        for (Endpoint e : view.endpoints()) {
            out.add(e.transport());
        }
    }

    /** Stops the checks and discovery; requests in flight finish. */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            if (checker != null) {
                checker.interrupt();
            }
            if (dns != null) {
                dns.close();
            }
        } finally {
            lock.unlock();
        }
    }
}
