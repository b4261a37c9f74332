package io.sluice.builtin.rate_limit;

/**
 * The outcome of taking a token, with what the RateLimit headers report.
 *
 * @param allowed        whether the request may pass
 * @param limit          bucket size
 * @param remaining      whole tokens left
 * @param resetSeconds   seconds until the bucket is full again
 * @param retryAfterSecs seconds until one token is available (0 when allowed)
 */
record Decision(boolean allowed, long limit, long remaining, long resetSeconds, long retryAfterSecs) {

    static Decision of(boolean allowed, double tokens, long capacity, double perMilli) {
        long resetMillis = (long) Math.ceil((capacity - tokens) / perMilli);
        long retryMillis = allowed ? 0 : (long) Math.ceil((1 - tokens) / perMilli);
        return new Decision(allowed, capacity, (long) Math.floor(tokens), ceilSeconds(resetMillis),
                allowed ? 0 : Math.max(1, ceilSeconds(retryMillis)));
    }

    private static long ceilSeconds(long millis) {
        return (millis + 999) / 1000;
    }
}
