package io.sluice.runtime.upstream;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedResolver;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * Resolves an upstream's DNS name to its targets, with dnsjava: A and AAAA records (the port given), or, for a
 * name whose first label starts with {@code _} ({@code _http._tcp.users.internal}), SRV records (their targets'
 * A/AAAA records, the records' ports, and their weights as target weights). Every outcome that gives no target
 * (NXDOMAIN, no records, SERVFAIL or another error code, no answer in time) is an {@link IOException} with a
 * message that says which, never an empty answer: a caller keeps what it had.
 *
 * <p>Each query waits {@link #DEFAULT_TIMEOUT} at most (per server, for the system's resolvers); A and AAAA are
 * asked in parallel. Nothing is cached here: the caller re-resolves when the answer's TTL says so. Thread-safe.
 */
public final class DnsResolver {
    /** The system property naming the DNS server to use ({@code host:port}, {@code [v6]:port}); unset: the system's. */
    public static final String SERVER_PROPERTY = "sluice.dns.server";
    /** How long one query waits for an answer from one server. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMillis(1500);
    /** The weight of an A/AAAA target. */
    public static final int DEFAULT_WEIGHT = 100;

    /**
     * One target.
     *
     * @param address its address (an IP literal, no host name) and port
     * @param weight  its relative weight, ≥ 1: {@link #DEFAULT_WEIGHT} for A/AAAA, the SRV weight (0 counts as 1)
     */
    public record Resolved(InetSocketAddress address, int weight) {
    }

    /**
     * What a name resolved to.
     *
     * @param targets   the targets, never empty, sorted (IPv4 before IPv6, then by address bytes and port), without
     *                  duplicate addresses
     * @param ttlMillis the smallest TTL of the records it came from; 0 when they said 0
     */
    public record Answer(List<Resolved> targets, long ttlMillis) {
        public Answer {
            targets = List.copyOf(targets);
        }
    }

    /** Address family first, then address bytes, then port, then weight: a stable order for comparing answers. */
    static final Comparator<Resolved> ORDER = Comparator
            .<Resolved>comparingInt(r -> r.address().getAddress().getAddress().length)
            .thenComparing((a, b) -> Arrays.compareUnsigned(a.address().getAddress().getAddress(),
                    b.address().getAddress().getAddress()))
            .thenComparingInt(r -> r.address().getPort())
            .thenComparingInt(Resolved::weight);

    private final Resolver resolver;
    /** How long one query waits for one server (for messages). */
    private final Duration timeout;
    /** How long this side waits for one query in all (the resolver's own timeouts, plus a margin). */
    private final Duration wait;
    private final List<Name> searchPath;
    private final int ndots;
    private final String description;

    private DnsResolver(Resolver resolver, Duration timeout, Duration wait, List<Name> searchPath, int ndots,
            String description) {
        this.resolver = resolver;
        this.timeout = timeout;
        this.wait = wait;
        this.searchPath = List.copyOf(searchPath);
        this.ndots = ndots;
        this.description = description;
    }

    /**
     * The machine's resolvers ({@code /etc/resolv.conf} on Linux), tried in turn, with its search path and ndots.
     *
     * @return a resolver
     */
    public static DnsResolver system() {
        ResolverConfig config = ResolverConfig.getCurrentConfig();
        List<InetSocketAddress> servers = config.servers();
        List<Resolver> each = new ArrayList<>();
        for (InetSocketAddress server : servers) {
            SimpleResolver r = new SimpleResolver(server);
            r.setTimeout(DEFAULT_TIMEOUT);
            each.add(r);
        }
        ExtendedResolver all = new ExtendedResolver(each);
        all.setRetries(1);
        Duration total = DEFAULT_TIMEOUT.multipliedBy(Math.max(1, servers.size()));
        all.setTimeout(total);
        return new DnsResolver(all, DEFAULT_TIMEOUT, total.plusMillis(500), config.searchPath(), config.ndots(),
                "system DNS " + servers);
    }

    /**
     * One DNS server, with {@link #DEFAULT_TIMEOUT}.
     *
     * @param server its address and port
     * @return a resolver
     */
    public static DnsResolver at(InetSocketAddress server) {
        return at(server, DEFAULT_TIMEOUT);
    }

    /**
     * One DNS server.
     *
     * @param server  its address and port
     * @param timeout how long one query waits for its answer
     * @return a resolver
     */
    public static DnsResolver at(InetSocketAddress server, Duration timeout) {
        if (server.isUnresolved()) {
            throw new IllegalArgumentException("DNS server " + server + " is not an address");
        }
        SimpleResolver r = new SimpleResolver(server);
        r.setTimeout(timeout);
        return new DnsResolver(r, timeout, timeout.plusMillis(250), List.of(), 1,
                "DNS server " + server.getAddress().getHostAddress() + ":" + server.getPort());
    }

    /**
     * The server that {@value #SERVER_PROPERTY} names ({@code host:port}, {@code [v6]:port}; port 53 when left
     * out), or {@link #system()} when the property is not set.
     *
     * @return a resolver
     * @throws IllegalArgumentException the property is not a server address
     */
    public static DnsResolver fromSystemProperty() {
        String value = System.getProperty(SERVER_PROPERTY);
        if (value == null || value.isBlank()) {
            return system();
        }
        return at(parseServer(value.strip()));
    }

    static InetSocketAddress parseServer(String value) {
        String host;
        String port = null;
        if (value.startsWith("[")) {
            int close = value.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException(SERVER_PROPERTY + "=" + value + ": no closing ]");
            }
            host = value.substring(1, close);
            String rest = value.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) {
                    throw new IllegalArgumentException(SERVER_PROPERTY + "=" + value + ": expected [address]:port");
                }
                port = rest.substring(1);
            }
        } else {
            int colon = value.lastIndexOf(':');
            if (colon >= 0 && value.indexOf(':') != colon) {
                host = value; // a bare IPv6 address
            } else if (colon >= 0) {
                host = value.substring(0, colon);
                port = value.substring(colon + 1);
            } else {
                host = value;
            }
        }
        int p = 53;
        if (port != null) {
            try {
                p = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                p = -1;
            }
            if (p < 1 || p > 65535) {
                throw new IllegalArgumentException(SERVER_PROPERTY + "=" + value + ": bad port " + port);
            }
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException(SERVER_PROPERTY + "=" + value + ": no host");
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), p);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(SERVER_PROPERTY + "=" + value + ": unknown host " + host, e);
        }
    }

    /**
     * Resolves a name: SRV when its first label starts with {@code _}, else A and AAAA.
     *
     * @param name        a DNS name ({@code users.internal}, {@code _http._tcp.users.internal}); relative names go
     *                    through the system's search path when this is {@link #system()}
     * @param defaultPort the port of A/AAAA targets (SRV records carry their own)
     * @return the targets, never empty
     * @throws InterruptedIOException the thread was interrupted (its interrupt flag is set again)
     * @throws IOException            no targets: NXDOMAIN, no records, an error code, or no answer in time
     */
    public Answer resolve(String name, int defaultPort) throws IOException {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("empty DNS name");
        }
        if (defaultPort < 1 || defaultPort > 65535) {
            throw new IllegalArgumentException("bad port " + defaultPort);
        }
        boolean srv = name.startsWith("_");
        String notFound = null;
        for (Name candidate : candidates(name)) {
            Lookup found = srv ? srv(candidate) : addresses(candidate, defaultPort);
            if (found.answer != null) {
                return found.answer;
            }
            if (notFound == null) {
                notFound = found.notFound;
            }
        }
        throw new IOException(notFound + " (asked " + description + ")");
    }

    /** An answer, or why there is none (NXDOMAIN or no records: a search path may try the next name). */
    private record Lookup(Answer answer, String notFound) {
    }

    private List<Name> candidates(String name) throws IOException {
        try {
            if (name.endsWith(".") || searchPath.isEmpty()) {
                return List.of(Name.fromString(name, Name.root));
            }
            List<Name> searched = new ArrayList<>();
            for (Name domain : searchPath) {
                searched.add(Name.fromString(name, domain));
            }
            Name absolute = Name.fromString(name, Name.root);
            long dots = name.chars().filter(c -> c == '.').count();
            if (dots >= ndots) {
                searched.addFirst(absolute);
            } else {
                searched.addLast(absolute);
            }
            return searched;
        } catch (TextParseException e) {
            throw new IllegalArgumentException("bad DNS name " + name + ": " + e.getMessage(), e);
        }
    }

    private Lookup srv(Name name) throws IOException {
        Message reply = await(name, Type.SRV, send(name, Type.SRV), deadline());
        String what = name.toString(true) + " SRV";
        if (reply.getRcode() == Rcode.NXDOMAIN) {
            return new Lookup(null, what + ": no such name (NXDOMAIN)");
        }
        List<SRVRecord> records = new ArrayList<>();
        long ttl = Long.MAX_VALUE;
        for (Record r : reply.getSection(Section.ANSWER)) {
            ttl = Math.min(ttl, r.getTTL());
            if (r instanceof SRVRecord s && !s.getTarget().equals(Name.root)) {
                records.add(s);
            }
        }
        if (records.isEmpty()) {
            return new Lookup(null, what + ": no SRV records");
        }
        // RFC 2782: the lowest priority is the one to use; the others are backups
        int priority = records.stream().mapToInt(SRVRecord::getPriority).min().orElseThrow();
        records.removeIf(s -> s.getPriority() != priority);
        List<Record> additional = reply.getSection(Section.ADDITIONAL);
        Map<Name, CompletableFuture<Message>[]> pending = new LinkedHashMap<>();
        for (SRVRecord s : records) {
            if (!pending.containsKey(s.getTarget()) && additional.stream().noneMatch(r -> isAddressOf(r, s.getTarget()))) {
                pending.put(s.getTarget(), sendAddresses(s.getTarget()));
            }
        }
        List<Timed> targets = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        try {
            collectTargets(records, additional, pending, targets, missing);
        } finally {
            pending.values().forEach(DnsResolver::cancel);
        }
        for (Timed t : targets) {
            ttl = Math.min(ttl, t.ttlSeconds());
        }
        if (targets.isEmpty()) {
            return new Lookup(null, what + ": no addresses for its targets (" + String.join("; ", missing) + ")");
        }
        return new Lookup(new Answer(distinct(targets.stream().map(t -> t.resolved).toList()), ttl * 1000), null);
    }

    /** A target with the TTL of the record it came from. */
    private record Timed(Resolved resolved, long ttlSeconds) {
    }

    private void collectTargets(List<SRVRecord> records, List<Record> additional,
            Map<Name, CompletableFuture<Message>[]> pending, List<Timed> targets, List<String> missing)
            throws IOException {
        Map<Name, Lookup> looked = new LinkedHashMap<>();
        for (SRVRecord s : records) {
            List<Record> addressRecords;
            CompletableFuture<Message>[] asked = pending.get(s.getTarget());
            if (asked == null) {
                addressRecords = additional.stream().filter(r -> isAddressOf(r, s.getTarget())).toList();
            } else {
                Lookup targetLookup = looked.get(s.getTarget());
                if (targetLookup == null) {
                    targetLookup = collect(s.getTarget(), asked, s.getPort());
                    looked.put(s.getTarget(), targetLookup);
                }
                if (targetLookup.answer == null) {
                    missing.add(targetLookup.notFound);
                    continue;
                }
                long ttl = targetLookup.answer.ttlMillis() / 1000;
                for (Resolved r : targetLookup.answer.targets()) {
                    targets.add(new Timed(new Resolved(new InetSocketAddress(r.address().getAddress(), s.getPort()),
                            Math.max(1, s.getWeight())), ttl));
                }
                continue;
            }
            for (Record r : addressRecords) {
                targets.add(new Timed(new Resolved(new InetSocketAddress(plain(r), s.getPort()),
                        Math.max(1, s.getWeight())), r.getTTL()));
            }
        }
    }

    private Lookup addresses(Name name, int port) throws IOException {
        return collect(name, sendAddresses(name), port);
    }

    @SuppressWarnings("unchecked")
    private CompletableFuture<Message>[] sendAddresses(Name name) {
        return new CompletableFuture[] {send(name, Type.A), send(name, Type.AAAA)};
    }

    /** Waits for the A and AAAA answers: any error fails it (a partial answer would drop targets). */
    private Lookup collect(Name name, CompletableFuture<Message>[] asked, int port) throws IOException {
        Message a;
        Message aaaa;
        try {
            long deadline = deadline();
            a = await(name, Type.A, asked[0], deadline);
            aaaa = await(name, Type.AAAA, asked[1], deadline);
        } finally {
            cancel(asked);
        }
        String what = name.toString(true);
        if (a.getRcode() == Rcode.NXDOMAIN && aaaa.getRcode() == Rcode.NXDOMAIN) {
            return new Lookup(null, what + ": no such name (NXDOMAIN)");
        }
        List<Resolved> targets = new ArrayList<>();
        long ttl = Long.MAX_VALUE;
        for (Message reply : List.of(a, aaaa)) {
            for (Record r : reply.getSection(Section.ANSWER)) {
                ttl = Math.min(ttl, r.getTTL()); // CNAMEs on the way count too
                if (r instanceof ARecord || r instanceof AAAARecord) {
                    targets.add(new Resolved(new InetSocketAddress(plain(r), port), DEFAULT_WEIGHT));
                }
            }
        }
        if (targets.isEmpty()) {
            return new Lookup(null, what + ": no A or AAAA records");
        }
        return new Lookup(new Answer(distinct(targets), ttl * 1000), null);
    }

    private static void cancel(CompletableFuture<Message>[] asked) {
        for (CompletableFuture<Message> f : asked) {
            f.cancel(false);
        }
    }

    private long deadline() {
        return System.nanoTime() + wait.toNanos();
    }

    private static boolean isAddressOf(Record r, Name name) {
        return (r instanceof ARecord || r instanceof AAAARecord) && r.getName().equals(name);
    }

    /** The record's address without the host name dnsjava attaches, so that it prints as an IP literal. */
    private static InetAddress plain(Record r) throws UnknownHostException {
        InetAddress a = r instanceof ARecord ar ? ar.getAddress() : ((AAAARecord) r).getAddress();
        return InetAddress.getByAddress(a.getAddress());
    }

    /** Sorted, one entry per address (SRV records naming the same address add their weights). */
    private static List<Resolved> distinct(List<Resolved> targets) {
        Map<InetSocketAddress, Integer> weights = new LinkedHashMap<>();
        for (Resolved r : targets) {
            weights.merge(r.address(), r.weight(), Integer::sum);
        }
        List<Resolved> out = new ArrayList<>();
        weights.forEach((address, weight) -> out.add(new Resolved(address, weight)));
        out.sort(ORDER);
        return out;
    }

    private CompletableFuture<Message> send(Name name, int type) {
        Message query = Message.newQuery(Record.newRecord(name, type, DClass.IN));
        return resolver.sendAsync(query).toCompletableFuture();
    }

    /** The reply, when its code is NOERROR or NXDOMAIN; anything else is an IOException. */
    private Message await(Name name, int type, CompletableFuture<Message> reply, long deadline) throws IOException {
        String what = name.toString(true) + " " + Type.string(type);
        Message m;
        try {
            m = reply.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            reply.cancel(false);
            Thread.currentThread().interrupt();
            InterruptedIOException ie = new InterruptedIOException("interrupted while resolving " + what);
            ie.initCause(e);
            throw ie;
        } catch (TimeoutException e) {
            reply.cancel(false);
            throw new IOException(noAnswer(what), e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof SocketTimeoutException
                    || (cause instanceof IOException && String.valueOf(cause.getMessage()).startsWith("Timed out"))) {
                throw new IOException(noAnswer(what), cause);
            }
            throw new IOException("DNS query for " + what + " failed (" + description + "): " + cause, cause);
        }
        int rcode = m.getRcode();
        if (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN) {
            throw new IOException("DNS query for " + what + " failed: " + description + " answered "
                    + Rcode.string(rcode));
        }
        return m;
    }

    private String noAnswer(String what) {
        return "DNS query for " + what + " timed out: no answer from " + description + " within "
                + timeout.toMillis() + " ms";
    }

    @Override
    public String toString() {
        return description;
    }
}
