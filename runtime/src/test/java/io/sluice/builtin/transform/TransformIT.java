package io.sluice.builtin.transform;

import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RawHttp;
import io.sluice.runtime.testing.RawUpstream;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** transform in a real gateway: path template, query, JSON bodies both ways, non-JSON untouched. */
class TransformIT {

    @Test
    void rewritesPathQueryAndRequestBody() throws Exception {
        try (EchoUpstream up = EchoUpstream.start("up");
             SluiceServer gw = Gateways.start("""
                     routes:
                       - id: users
                         paths: ["/api/users/{id}/**"]
                         upstream: {targets: [{url: "%s"}]}
                         plugins:
                           - name: transform
                             config:
                               request:
                                 path: "/v2/accounts/{id}/{**}"
                                 query: {remove: [debug], add: {via: sluice}}
                                 body: {set: {meta.via: sluice}, remove: [password]}
                     """.formatted(up.url()))) {
            String body = "{\"user\":\"ann\",\"password\":\"hunter2\"}";
            RawHttp.Response r = RawHttp.exchange(gw.proxyPort(), "POST /api/users/7/prefs/theme?debug=1&x=2 HTTP/1.1\r\n"
                    + "Host: x\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
            assertEquals(200, r.status(), r.text());
            assertEquals("/v2/accounts/7/prefs/theme?x=2&via=sluice", up.last().target());
            assertEquals("{\"user\":\"ann\",\"meta\":{\"via\":\"sluice\"}}", up.last().bodyText());
            assertEquals(String.valueOf(up.last().body().length), up.last().header("Content-Length"));

            RawHttp.exchange(gw.proxyPort(), "POST /api/users/7/x HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                    + "Content-Length: 13\r\n\r\n{\"password\":1");
            assertEquals("{\"password\":1", up.last().bodyText(), "non-JSON bodies pass untouched");
        }
    }

    @Test
    void masksResponseBodyFields() throws Exception {
        String json = "{\"card\":{\"number\":\"4111111111111111\"},\"name\":\"ann\"}";
        try (RawUpstream up = RawUpstream.start((q, n) -> RawUpstream.Reply.keep("HTTP/1.1 200 OK\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + json.length() + "\r\n\r\n" + json));
             SluiceServer gw = Gateways.start("""
                     routes:
                       - id: cards
                         paths: ["/cards/**"]
                         upstream: {targets: [{url: "%s"}]}
                         plugins:
                           - name: transform
                             config: {response: {body: {mask: [card.number]}}}
                     """.formatted(up.url()))) {
            RawHttp.Response r = RawHttp.exchange(gw.proxyPort(), "GET /cards/1 HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(200, r.status());
            assertEquals("{\"card\":{\"number\":\"****1111\"},\"name\":\"ann\"}", r.text());
            assertTrue(r.header("Content-Length").equals(String.valueOf(r.body().length)));
        }
    }
}
