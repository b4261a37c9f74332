package io.sluice.registry.model;

import java.util.Arrays;
import java.util.Optional;

/**
 * The kinds of config entity, declared once. Each kind is a section of the declarative document (the shape of
 * {@code GET /v1/config/export}), validated by the {@code $defs} entry of {@code sluice-config.schema.json} of the
 * same name, and stored as rows of {@code config_entity} (kind, id, body). A new kind is one schema, one record in
 * {@code GatewayConfig} and one constant here; a collection kind with a {@link #resource()} gets its admin endpoints
 * (list, read, create or replace, delete) from the constant alone.
 */
public enum EntityKind {
    /** The plugin list run on every route before the route's own ({@code global_plugins}, an array). */
    GLOBAL_PLUGINS("global_plugins", "global_plugins", Shape.SINGLETON),
    /** A route ({@code routes[]}, by id), served at {@code /v1/routes}. */
    ROUTE("route", "routes", Shape.COLLECTION, "routes"),
    /**
     * An API consumer without its keys ({@code consumers[]}, by id). Its admin resource is hand-written: reads
     * show key ids only, and keys are created by {@code POST /v1/consumers/{id}/api-keys}.
     */
    CONSUMER("consumer", "consumers", Shape.COLLECTION),
    /**
     * An API key of a consumer ({@code consumers[].api_keys[]}): id {@code <consumer>/<key id>}, body
     * {@code {"id", "hash"}}. A row of its own so that issuing a key writes one small row.
     */
    API_KEY("api_key", "api_keys", Shape.NESTED),
    /** Edge settings of every node ({@code settings}, an object). */
    SETTINGS("settings", "settings", Shape.SINGLETON),
    /** Keys whose signature lets developers upload jars ({@code trusted_jar_signers}, an array). */
    TRUSTED_JAR_SIGNERS("trusted_jar_signers", "trusted_jar_signers", Shape.SINGLETON),
    /**
     * A named, shared upstream ({@code upstreams[]}, by id), served at {@code /v1/upstreams}; routes name it. Its
     * targets can also be registered one by one ({@code POST /v1/upstreams/{id}/targets}).
     */
    UPSTREAM("upstream", "upstreams", Shape.COLLECTION, "upstreams"),
    /**
     * A TLS certificate of the TLS listener ({@code certificates[]}, by id), served at {@code /v1/certificates};
     * its {@code key} is never returned by a read.
     */
    CERTIFICATE("certificate", "certificates", Shape.COLLECTION, "certificates");

    /** How a kind sits in the document. */
    public enum Shape {
        /** One value under its field; its id is {@value EntityKind#SINGLE}. */
        SINGLETON,
        /** An array of objects with unique {@code id}s. */
        COLLECTION,
        /** An array inside each element of its parent collection. */
        NESTED
    }

    /** The id of a singleton kind's one entity. */
    public static final String SINGLE = "*";

    private final String wire;
    private final String field;
    private final Shape shape;
    private final String resource;

    EntityKind(String wire, String field, Shape shape) {
        this(wire, field, shape, null);
    }

    EntityKind(String wire, String field, Shape shape, String resource) {
        this.wire = wire;
        this.field = field;
        this.shape = shape;
        this.resource = resource;
    }

    /**
     * The admin API's generic resource for a collection kind: {@code GET /v1/<resource>},
     * {@code GET|PUT|DELETE /v1/<resource>/{id}} are derived from this registration alone.
     *
     * @return the resource name, or empty when the kind has hand-written endpoints (or none)
     */
    public Optional<String> resource() {
        return Optional.ofNullable(resource);
    }

    /**
     * @return the kind's name in change sets, the store and the diff ({@code route}, {@code api_key}, ...)
     */
    public String wire() {
        return wire;
    }

    /**
     * @return its field in the document (in its parent's element for a nested kind)
     */
    public String field() {
        return field;
    }

    /**
     * @return how it sits in the document
     */
    public Shape shape() {
        return shape;
    }

    /**
     * @param wire a kind's wire name
     * @return the kind, if known
     */
    public static Optional<EntityKind> of(String wire) {
        return Arrays.stream(values()).filter(k -> k.wire.equals(wire)).findFirst();
    }

    /**
     * The parent's id of a nested entity ({@code consumer} of {@code consumer/key}).
     *
     * @param id a nested entity's id
     * @return its parent's id
     */
    public static String parentOf(String id) {
        return id.substring(0, id.indexOf('/'));
    }
}
