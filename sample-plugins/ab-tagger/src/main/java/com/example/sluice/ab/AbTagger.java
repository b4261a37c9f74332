package com.example.sluice.ab;

import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Outcome;

/** Places a request in a variant; immutable. */
final class AbTagger implements Filter {
    private final String experiment;
    private final int percentB;
    private final String stickyHeader;
    private final String header;

    AbTagger(String experiment, int percentB, String stickyHeader, String header) {
        this.experiment = experiment;
        this.percentB = percentB;
        this.stickyHeader = stickyHeader;
        this.header = header;
    }

    @Override
    public Outcome onRequest(Exchange exchange) {
        String key = stickyHeader == null ? null : exchange.request().headers().firstOrNull(stickyHeader);
        String variant = variant(experiment, key == null ? exchange.requestId() : key, percentB);
        exchange.request().headers().set(header, variant);   // replaces anything the client sent
        exchange.vars().put("ab_variant", variant);
        return Outcome.proceed();
    }

    @Override
    public Outcome onResponse(Exchange exchange) {
        Object variant = exchange.vars().get("ab_variant");
        if (variant != null) {
            exchange.response().orElseThrow().headers().set(header, variant.toString());
        }
        return Outcome.proceed();
    }

    /**
     * The variant of a key: 32-bit FNV-1a over {@code experiment:key} (UTF-16 code units, as JavaScript sees a
     * string), modulo 100, below {@code percentB} is B.
     */
    static String variant(String experiment, String key, int percentB) {
        String s = experiment + ":" + key;
        int h = 0x811c9dc5;
        for (int i = 0; i < s.length(); i++) {
            h = (h ^ s.charAt(i)) * 0x01000193;
        }
        return Integer.toUnsignedLong(h) % 100 < percentB ? "B" : "A";
    }
}
