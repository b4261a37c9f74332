package io.sluice.builtin.canary;

import io.sluice.plugin.Consumer;
import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Outcome;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks an upstream group per request: uniformly at random by weight, or, when sticky, by a hash of the client's
 * key so one client keeps landing on the same group. The pick is stored in {@code vars["upstream_group"]}.
 */
final class CanaryFilter implements Filter {
    /** Where the chosen group is recorded for later filters and the access log. */
    static final String VAR = "upstream_group";

    /**
     * @param by   header | cookie | consumer
     * @param name header or cookie name
     */
    record Sticky(String by, String name) {
    }

    private final String[] names;
    private final int[] cumulative;
    private final int total;
    private final Sticky sticky;
    private final String responseHeader;

    CanaryFilter(List<String> names, List<Integer> weights, Sticky sticky, String responseHeader) {
        this.names = names.toArray(String[]::new);
        this.cumulative = new int[weights.size()];
        int sum = 0;
        for (int i = 0; i < weights.size(); i++) {
            sum += weights.get(i);
            cumulative[i] = sum;
        }
        this.total = sum;
        this.sticky = sticky;
        this.responseHeader = responseHeader;
    }

    @Override
    public Set<String> upstreams() {
        return Set.of(names);
    }

    @Override
    public Outcome onRequest(Exchange exchange) {
        String key = sticky == null ? null : stickyKey(exchange);
        int point = key == null ? ThreadLocalRandom.current().nextInt(total) : (int) Long.remainderUnsigned(hash(key), total);
        String group = names[names.length - 1];
        for (int i = 0; i < cumulative.length; i++) {
            if (point < cumulative[i]) {
                group = names[i];
                break;
            }
        }
        exchange.upstream(group);
        exchange.vars().put(VAR, group);
        return Outcome.proceed();
    }

    @Override
    public Outcome onResponse(Exchange exchange) {
        if (responseHeader != null) {
            exchange.response().ifPresent(r -> r.headers().set(responseHeader, exchange.upstream()));
        }
        return Outcome.proceed();
    }

    private String stickyKey(Exchange exchange) {
        return switch (sticky.by) {
            case "consumer" -> exchange.consumer().map(Consumer::id).orElse(null);
            case "header" -> exchange.request().headers().firstOrNull(sticky.name);
            default -> cookie(exchange.request().headers().all("Cookie"), sticky.name).orElse(null);
        };
    }

    static Optional<String> cookie(List<String> headers, String name) {
        for (String h : headers) {
            for (String pair : h.split(";")) {
                int eq = pair.indexOf('=');
                if (eq > 0 && pair.substring(0, eq).strip().equals(name)) {
                    String v = pair.substring(eq + 1).strip();
                    return v.isEmpty() ? Optional.empty() : Optional.of(v);
                }
            }
        }
        return Optional.empty();
    }

    /** 64-bit FNV-1a over the UTF-8 bytes, finished with the MurmurHash3 mixer so nearby keys spread evenly. */
    static long hash(String key) {
        long h = 0xcbf29ce484222325L;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
