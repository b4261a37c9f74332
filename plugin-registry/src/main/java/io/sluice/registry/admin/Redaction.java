package io.sluice.registry.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.registry.config.PluginCatalog;
import io.sluice.registry.config.SecretFields;

import java.util.Optional;

/**
 * Config documents as roles that may not see secrets read them: each plugin entry's writeOnly values
 * (per that plugin's schema) become {@value SecretFields#REDACTED}. An entry whose plugin is no longer known
 * (an old version naming a deleted filter) has its whole config redacted, since nothing says which of its
 * values are secret.
 */
final class Redaction {
    private Redaction() {
    }

    /**
     * @param doc     a config document (not changed)
     * @param catalog the plugins and their schemas
     * @return a redacted copy
     */
    static ObjectNode document(ObjectNode doc, PluginCatalog catalog) {
        ObjectNode out = doc.deepCopy();
        out.path("global_plugins").forEach(p -> entry(p, catalog));
        out.path("routes").forEach(r -> {
            r.path("plugins").forEach(p -> entry(p, catalog));
            upstream(r.path("upstream"));
            r.path("upstreams").forEach(Redaction::upstream);
        });
        out.path("upstreams").forEach(Redaction::upstream);
        return out;
    }

    /**
     * Certificate keys are never returned, whoever reads (the platform role included).
     *
     * @param doc a config document (not changed)
     * @return the document, or a copy without certificate keys
     */
    static ObjectNode withoutCertificateKeys(ObjectNode doc) {
        if (!doc.has("certificates")) {
            return doc;
        }
        ObjectNode out = doc.deepCopy();
        out.path("certificates").forEach(c -> {
            if (c instanceof ObjectNode o && o.has("key")) {
                o.put("key", SecretFields.REDACTED);
            }
        });
        return out;
    }

    /** An upstream's mutual-TLS private key. */
    private static void upstream(JsonNode upstream) {
        if (upstream.path("tls") instanceof ObjectNode tls && tls.has("client_key")) {
            tls.put("client_key", SecretFields.REDACTED);
        }
    }

    private static void entry(JsonNode plugin, PluginCatalog catalog) {
        if (!(plugin instanceof ObjectNode p) || !p.has("config")) {
            return;
        }
        Optional<FilterDescriptor> d = catalog.describe(p.path("name").asText(),
                Optional.ofNullable(p.get("version")).map(JsonNode::asText));
        if (d.isEmpty()) {
            p.set("config", TextNode.valueOf(SecretFields.REDACTED));
            return;
        }
        p.set("config", SecretFields.of(d.get().schema()).redact(p.get("config")));
    }
}
