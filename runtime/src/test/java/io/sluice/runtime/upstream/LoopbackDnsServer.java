package io.sluice.runtime.upstream;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * A DNS server for tests: UDP on 127.0.0.1, an ephemeral port, answers built with dnsjava. The test sets what it
 * answers while it runs: A/AAAA records ({@link #setAddresses}), SRV records ({@link #setSrv}), SERVFAIL for
 * everything ({@link #servfail}), or no answer at all ({@link #silent}). A name it has no records of gets
 * NXDOMAIN; a name with records of other types, an empty NOERROR. It counts the queries it receives.
 */
final class LoopbackDnsServer implements AutoCloseable {
    /** One SRV record. */
    record Srv(int priority, int weight, int port, String target) {
    }

    private final DatagramSocket socket;
    private final Thread thread;
    private final Map<Name, List<Record>> records = new ConcurrentHashMap<>();
    private final AtomicInteger queries = new AtomicInteger();
    private volatile boolean servfail;
    private volatile boolean silent;
    private volatile boolean srvAdditional;

    private LoopbackDnsServer() throws SocketException {
        socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        thread = Thread.ofPlatform().daemon().name("loopback-dns").start(this::serve);
    }

    static LoopbackDnsServer start() throws SocketException {
        return new LoopbackDnsServer();
    }

    InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    /** Replaces the A and AAAA records of a name (IPv4 or IPv6 literals); none removes them. */
    void setAddresses(String name, long ttlSeconds, String... addresses) {
        Name n = name(name);
        List<Record> list = new ArrayList<>(others(n, Type.A, Type.AAAA));
        for (String a : addresses) {
            InetAddress address;
            try {
                address = InetAddress.getByName(a);
            } catch (IOException e) {
                throw new IllegalArgumentException(a, e);
            }
            list.add(address instanceof Inet4Address
                    ? new ARecord(n, DClass.IN, ttlSeconds, address)
                    : new AAAARecord(n, DClass.IN, ttlSeconds, address));
        }
        put(n, list);
    }

    /** Replaces the SRV records of a name; none removes them. */
    void setSrv(String name, long ttlSeconds, Srv... srvs) {
        Name n = name(name);
        List<Record> list = new ArrayList<>(others(n, Type.SRV));
        for (Srv s : srvs) {
            list.add(new SRVRecord(n, DClass.IN, ttlSeconds, s.priority(), s.weight(), s.port(), name(s.target())));
        }
        put(n, list);
    }

    /** Whether SRV answers carry their targets' A/AAAA records in the additional section. */
    void srvAdditional(boolean on) {
        srvAdditional = on;
    }

    /** Answer every query with SERVFAIL (true) or normally (false). */
    void servfail(boolean on) {
        servfail = on;
    }

    /** Answer nothing (true) or normally (false); queries are still counted. */
    void silent(boolean on) {
        silent = on;
    }

    /** @return the queries received so far */
    int queries() {
        return queries.get();
    }

    @Override
    public void close() throws InterruptedException {
        socket.close();
        thread.join(2000);
    }

    private static Name name(String name) {
        try {
            return Name.fromString(name, Name.root);
        } catch (TextParseException e) {
            throw new IllegalArgumentException(name, e);
        }
    }

    private List<Record> others(Name n, int... types) {
        List<Record> kept = new ArrayList<>();
        for (Record r : records.getOrDefault(n, List.of())) {
            boolean drop = false;
            for (int t : types) {
                drop |= r.getType() == t;
            }
            if (!drop) {
                kept.add(r);
            }
        }
        return kept;
    }

    private void put(Name n, List<Record> list) {
        if (list.isEmpty()) {
            records.remove(n);
        } else {
            records.put(n, List.copyOf(list));
        }
    }

    private void serve() {
        byte[] buffer = new byte[4096];
        while (!socket.isClosed()) {
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            try {
                socket.receive(packet);
            } catch (IOException e) {
                return; // closed
            }
            queries.incrementAndGet();
            if (silent) {
                continue;
            }
            try {
                Message query = new Message(java.util.Arrays.copyOf(packet.getData(), packet.getLength()));
                byte[] reply = answer(query).toWire();
                socket.send(new DatagramPacket(reply, reply.length, packet.getSocketAddress()));
            } catch (IOException e) {
                // a malformed query, or the socket closed: nothing to answer
            }
        }
    }

    private Message answer(Message query) {
        Message reply = new Message(query.getHeader().getID());
        reply.getHeader().setFlag(Flags.QR);
        reply.getHeader().setFlag(Flags.AA);
        reply.getHeader().setFlag(Flags.RA);
        if (query.getHeader().getFlag(Flags.RD)) {
            reply.getHeader().setFlag(Flags.RD);
        }
        Record question = query.getQuestion();
        if (question == null) {
            reply.getHeader().setRcode(Rcode.FORMERR);
            return reply;
        }
        reply.addRecord(question, Section.QUESTION);
        if (servfail) {
            reply.getHeader().setRcode(Rcode.SERVFAIL);
            return reply;
        }
        List<Record> all = records.get(question.getName());
        if (all == null) {
            reply.getHeader().setRcode(Rcode.NXDOMAIN);
            return reply;
        }
        for (Record r : all) {
            if (r.getType() == question.getType()) {
                reply.addRecord(r, Section.ANSWER);
                if (r instanceof SRVRecord srv && srvAdditional) {
                    for (Record target : records.getOrDefault(srv.getTarget(), List.of())) {
                        if (target.getType() == Type.A || target.getType() == Type.AAAA) {
                            reply.addRecord(target, Section.ADDITIONAL);
                        }
                    }
                }
            }
        }
        return reply;
    }
}
