package io.sluice.runtime.testing;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Sends requests from 8 client threads, makes a change once traffic flows, and keeps sending until the new
 * version has answered enough times (or 10 s passed). Every response is checked: the old or the new version, never
 * a failure.
 */
public final class SwitchUnderLoad {
    private SwitchUnderLoad() {
    }

    /**
     * What the clients saw.
     *
     * @param sent     requests answered
     * @param newSeen  responses from the new version
     * @param failures responses that were neither version, and exceptions
     */
    public record Result(int sent, int newSeen, List<String> failures) {
    }

    /** Which version answered: "old", "new", or anything else for a failure. */
    public interface Classifier {
        String classify(HttpResponse<String> r);
    }

    /**
     * @param request  one request
     * @param classify which version answered
     * @param change   the change (a config write), made after 100 answered requests
     * @param wantNew  how many answers of the new version end the run
     * @return what the clients saw
     */
    public static Result run(Callable<HttpResponse<String>> request, Classifier classify, Runnable change,
                             int wantNew) throws InterruptedException {
        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        AtomicInteger seenNew = new AtomicInteger();
        AtomicInteger sent = new AtomicInteger();
        List<Thread> clients = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            clients.add(Thread.ofPlatform().start(() -> {
                while (!stop.get()) {
                    try {
                        HttpResponse<String> r = request.call();
                        sent.incrementAndGet();
                        switch (classify.classify(r)) {
                            case "old" -> { }
                            case "new" -> seenNew.incrementAndGet();
                            default -> failures.add(r.statusCode() + " " + r.headers().map() + " " + r.body());
                        }
                    } catch (Exception e) {
                        failures.add(e.toString());
                    }
                }
            }));
        }
        try {
            long until = System.nanoTime() + 10_000_000_000L;
            while (sent.get() < 100 && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            change.run();
            while (seenNew.get() < wantNew && System.nanoTime() < until) {
                Thread.sleep(5);
            }
        } finally {
            stop.set(true);
            for (Thread t : clients) {
                t.join();
            }
        }
        return new Result(sent.get(), seenNew.get(), List.copyOf(failures));
    }
}
