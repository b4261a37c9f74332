package io.sluice.builtin.request_size_limit;

import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestSizeLimitFilterTest {
    private final Filter filter = new RequestSizeLimitFilterFactory().create(FilterConfig.of(Map.of("max_bytes", 10L)));

    @Test
    void declaredLengthOverTheLimitIs413() throws Exception {
        Outcome o = filter.onRequest(TestExchange.request("POST", "/").header("Content-Length", "11"));
        Outcome.Respond r = assertInstanceOf(Outcome.Respond.class, o);
        assertEquals(413, r.status());
        assertTrue(r.bodyText().contains("\"error\":\"payload_too_large\""), r.bodyText());
    }

    @Test
    void bodiesWithinOrWithoutDeclaredLengthProceedWithACap() throws Exception {
        TestExchange ok = TestExchange.request("POST", "/").header("Content-Length", "10");
        assertEquals(Outcome.proceed(), filter.onRequest(ok));
        TestExchange chunked = TestExchange.request("POST", "/").header("Transfer-Encoding", "chunked");
        assertEquals(Outcome.proceed(), filter.onRequest(chunked));
        assertEquals(OptionalLong.of(10), chunked.bodyLimit(), "the gateway enforces the cap while streaming");
    }
}
