package io.sluice.runtime.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP forwarder in front of a real service (PostgreSQL, Redis) that a test can cut and restore, to take the
 * service away from the gateway without stopping a server the test did not start. Cut = every open
 * connection reset and new ones refused (the listening socket is closed); restore = listen again on the same
 * port.
 */
public final class TcpProxy implements AutoCloseable {
    private final int targetPort;
    private final int port;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile ServerSocket server;

    private TcpProxy(int targetPort, int port) {
        this.targetPort = targetPort;
        this.port = port;
    }

    /**
     * Starts forwarding 127.0.0.1:(free port) to 127.0.0.1:targetPort.
     *
     * @param targetPort the real service's port
     * @return the proxy
     * @throws IOException if it cannot listen
     */
    public static TcpProxy start(int targetPort) throws IOException {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        TcpProxy p = new TcpProxy(targetPort, port);
        p.restore();
        return p;
    }

    /** @return the port to connect to */
    public int port() {
        return port;
    }

    /** Resets every connection and refuses new ones. */
    public synchronized void cut() throws IOException {
        ServerSocket s = server;
        server = null;
        if (s != null) {
            s.close();
        }
        for (Socket sock : open) {
            try {
                sock.setSoLinger(true, 0);
                sock.close();
            } catch (IOException e) {
                // closed meanwhile by its pump
            }
        }
        open.clear();
    }

    /** Listens again. */
    public synchronized void restore() throws IOException {
        if (server != null) {
            return;
        }
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        server = s;
        Thread.ofVirtual().name("tcp-proxy-accept").start(() -> accept(s));
    }

    private void accept(ServerSocket s) {
        while (!s.isClosed()) {
            try {
                Socket client = s.accept();
                Socket target = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                open.add(client);
                open.add(target);
                Thread.ofVirtual().start(() -> pump(client, target));
                Thread.ofVirtual().start(() -> pump(target, client));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void pump(Socket from, Socket to) {
        byte[] buf = new byte[16 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // connection cut or closed by a side
        } finally {
            try {
                from.close();
                to.close();
            } catch (IOException e) {
                // already closed
            }
            open.remove(from);
            open.remove(to);
        }
    }

    @Override
    public void close() throws IOException {
        cut();
    }
}
