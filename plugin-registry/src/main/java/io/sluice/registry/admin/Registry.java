package io.sluice.registry.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.registry.config.ConfigException;
import io.sluice.registry.config.ConfigParser;
import io.sluice.registry.config.GatewayConfig;
import io.sluice.registry.config.PluginCatalog;
import io.sluice.registry.config.Problem;
import io.sluice.registry.config.SourceTree;
import io.sluice.registry.store.ConfigVersion;
import io.sluice.registry.store.StaleVersionException;
import io.sluice.registry.store.Store;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;

/**
 * The control plane's config logic, free of HTTP: every change reads the current document, edits a copy,
 * validates the whole result (document schema, plugins and their schemas, path patterns, conflicts, and the
 * runtime's own check that every filter accepts its config) and only then commits it as version N+1. A
 * change that fails any check commits nothing.
 */
public final class Registry {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int COMMIT_ATTEMPTS = 5;

    /** A last check of a parsed config, e.g. building every filter once; throws to refuse it. */
    @FunctionalInterface
    public interface Check {
        /**
         * @param config the parsed config
         * @throws ConfigException to refuse it
         */
        void check(GatewayConfig config) throws ConfigException;
    }

    /** Told about every committed version, after the commit. */
    @FunctionalInterface
    public interface Listener {
        /**
         * @param version the committed version
         * @param config  its parsed content
         */
        void committed(ConfigVersion version, GatewayConfig config);
    }

    /**
     * A change that was committed.
     *
     * @param version the new version
     * @param config  its parsed content
     * @param changes what differs from the previous version
     */
    public record Committed(ConfigVersion version, GatewayConfig config, List<Change> changes) {
    }

    /**
     * One difference between two documents.
     *
     * @param kind   {@code route}, {@code consumer}, {@code global_plugins} or {@code trusted_jar_signers}
     * @param id     the route or consumer id ({@code *} for global plugins and trusted jar signers)
     * @param change {@code added}, {@code removed} or {@code changed}
     */
    public record Change(String kind, String id, String change) {
    }

    private final Store store;
    private final ConfigParser parser;
    private final Check check;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

    private final PluginCatalog catalog;

    /** @return the plugins configs may name */
    public PluginCatalog catalog() {
        return catalog;
    }

    /**
     * @param store   where versions live
     * @param catalog the plugins configs may name
     * @param check   the runtime's last check of a config
     */
    public Registry(Store store, PluginCatalog catalog, Check check) {
        this.store = store;
        this.parser = new ConfigParser(catalog);
        this.catalog = catalog;
        this.check = check;
    }

    /**
     * @param listener told about each commit made through this registry
     */
    public void addListener(Listener listener) {
        listeners.add(listener);
    }

    /**
     * @return the store
     */
    public Store store() {
        return store;
    }

    /**
     * The current version number and document ({@code {}} and 0 before the first commit).
     *
     * @return version and document
     */
    public Current current() {
        return store.latest().map(v -> new Current(v.version(), v, document(v.content())))
                .orElseGet(() -> new Current(0, null, MAPPER.createObjectNode()));
    }

    /**
     * @param version  number
     * @param stored   the stored version (null for 0)
     * @param document the document (a private copy, safe to edit)
     */
    public record Current(long version, ConfigVersion stored, ObjectNode document) {
    }

    /**
     * Parses and fully validates a document.
     *
     * @param document JSON document
     * @return the config
     * @throws ConfigException with every problem
     */
    public GatewayConfig validate(ObjectNode document) throws ConfigException {
        return validate(SourceTree.parse(document.toString()));
    }

    /**
     * Parses and fully validates an uploaded document; problems carry its line numbers.
     *
     * @param tree the parsed upload
     * @return the config
     * @throws ConfigException with every problem
     */
    public GatewayConfig validate(SourceTree tree) throws ConfigException {
        GatewayConfig config = parser.parse(tree);
        try {
            check.check(config);
        } catch (ConfigException e) {
            throw new ConfigException(e.problems().stream().map(p -> p.line() > 0 ? p
                    : new Problem(p.path(), tree.lineOf(p.path()), p.message(), p.conflict())).toList());
        }
        return config;
    }

    /**
     * Applies an edit to the current document and commits the result as a new version. Retries the whole
     * read-edit-validate-commit when another writer committed first.
     *
     * @param author  token name
     * @param role    token role
     * @param summary one line for the history
     * @param edit    edits a copy of the current document in place (or returns a replacement); may throw
     *                {@link ApiError}
     * @param rewrite maps document paths in validation problems to the paths of the request body
     * @return the commit
     * @throws ApiError 400/409 (see {@link #invalid}) when the result does not validate
     */
    public Committed change(String author, Role role, String summary, UnaryOperator<ObjectNode> edit,
                            UnaryOperator<String> rewrite) {
        for (int attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
            Current cur = current();
            ObjectNode before = cur.document().deepCopy();
            ObjectNode next = edit.apply(cur.document());
            normalise(next);
            pin(next);
            GatewayConfig config;
            try {
                config = validate(next);
            } catch (ConfigException e) {
                throw invalid(e, rewrite);
            }
            try {
                ConfigVersion v = store.commit(cur.version(), next.toString(), author, role.wire(), summary);
                for (Listener l : listeners) {
                    l.committed(v, config);
                }
                return new Committed(v, config, diff(before, next));
            } catch (StaleVersionException e) {
                // someone else committed meanwhile: redo the edit on their version
            }
        }
        throw new ApiError(409, "concurrent_change", "the config kept changing under this request; try again");
    }

    /**
     * The standard mapping of validation problems: 409 {@code conflict} when any problem is a clash with
     * another part of the config, otherwise 400 {@code invalid_config}.
     *
     * @param e       the problems
     * @param rewrite maps document paths to the paths of the request body
     * @return the error
     */
    public static ApiError invalid(ConfigException e, UnaryOperator<String> rewrite) {
        List<Problem> details = e.problems().stream()
                .map(p -> new Problem(rewrite.apply(p.path()), p.line(), p.message(), p.conflict())).toList();
        boolean conflict = e.problems().stream().anyMatch(Problem::conflict);
        return new ApiError(conflict ? 409 : 400, conflict ? "conflict" : "invalid_config",
                conflict ? "the change conflicts with the current config" : "the config is invalid", details);
    }

    /**
     * Differences between two documents, by route and consumer id.
     *
     * @param before old document
     * @param after  new document
     * @return changes, routes first
     */
    public static List<Change> diff(JsonNode before, JsonNode after) {
        List<Change> out = new ArrayList<>();
        if (!nonNullArray(before.get("global_plugins")).equals(SAME_VALUE, nonNullArray(after.get("global_plugins")))) {
            out.add(new Change("global_plugins", "*", "changed"));
        }
        diffById(out, "route", before.get("routes"), after.get("routes"));
        diffById(out, "consumer", before.get("consumers"), after.get("consumers"));
        JsonNode s0 = before.get("settings");
        JsonNode s1 = after.get("settings");
        if (!(s0 == null ? MAPPER.createObjectNode() : s0).equals(SAME_VALUE,
                s1 == null ? MAPPER.createObjectNode() : s1)) {
            out.add(new Change("settings", "*", "changed"));
        }
        if (!nonNullArray(before.get(JarTrust.FIELD)).equals(SAME_VALUE, nonNullArray(after.get(JarTrust.FIELD)))) {
            out.add(new Change(JarTrust.FIELD, "*", "changed"));
        }
        return out;
    }

    // 100000 read from YAML (a long) equals 100000 read from stored JSON (an int): compare numbers by value
    private static final java.util.Comparator<JsonNode> SAME_VALUE = (a, b) -> {
        if (a.equals(b)) {
            return 0;
        }
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue());
        }
        return 1;
    };

    private static JsonNode nonNullArray(JsonNode n) {
        return n == null ? MAPPER.createArrayNode() : n;
    }

    private static void diffById(List<Change> out, String kind, JsonNode before, JsonNode after) {
        Map<String, JsonNode> a = byId(before);
        Map<String, JsonNode> b = byId(after);
        for (Map.Entry<String, JsonNode> e : b.entrySet()) {
            JsonNode old = a.get(e.getKey());
            if (old == null) {
                out.add(new Change(kind, e.getKey(), "added"));
            } else if (!old.equals(SAME_VALUE, e.getValue())) {
                out.add(new Change(kind, e.getKey(), "changed"));
            }
        }
        for (String id : a.keySet()) {
            if (!b.containsKey(id)) {
                out.add(new Change(kind, id, "removed"));
            }
        }
    }

    private static Map<String, JsonNode> byId(JsonNode arr) {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        if (arr != null) {
            arr.forEach(n -> out.put(n.path("id").asText(), n));
        }
        return out;
    }

    /**
     * The array under {@code field}, created when missing.
     *
     * @param doc   document
     * @param field field name
     * @return the array
     */
    public static ArrayNode array(ObjectNode doc, String field) {
        JsonNode n = doc.get(field);
        if (n instanceof ArrayNode a) {
            return a;
        }
        return doc.putArray(field);
    }

    /**
     * Index of the element with this id.
     *
     * @param arr array of objects with {@code id}
     * @param id  the id
     * @return its index, or empty
     */
    public static Optional<Integer> indexOf(ArrayNode arr, String id) {
        for (int i = 0; i < arr.size(); i++) {
            if (id.equals(arr.get(i).path("id").asText(null))) {
                return Optional.of(i);
            }
        }
        return Optional.empty();
    }

    /**
     * Parses stored or uploaded JSON text as a document.
     *
     * @param json text
     * @return the document
     */
    public static ObjectNode document(String json) {
        try {
            JsonNode n = MAPPER.readTree(json);
            if (n instanceof ObjectNode o) {
                return o;
            }
            throw new IllegalStateException("stored config is not a JSON object");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored config is not JSON: " + e.getOriginalMessage(), e);
        }
    }

    // empty sections are dropped so that equal configs have equal documents
    /** Plugin entries naming an uploaded filter without a version get its newest version, written down. */
    private void pin(ObjectNode doc) {
        List<JsonNode> entries = new ArrayList<>();
        doc.path("global_plugins").forEach(entries::add);
        doc.path("routes").forEach(r -> r.path("plugins").forEach(entries::add));
        for (JsonNode e : entries) {
            if (e instanceof ObjectNode o && !o.has("version") && o.path("name").isTextual()) {
                catalog.latestUploaded(o.path("name").asText()).ifPresent(v -> o.put("version", v));
            }
        }
    }

    private static void normalise(ObjectNode doc) {
        Iterator<Map.Entry<String, JsonNode>> it = doc.fields();
        while (it.hasNext()) {
            JsonNode v = it.next().getValue();
            if (v.isArray() && v.isEmpty()) {
                it.remove();
            }
        }
    }

    /**
     * @return the shared mapper
     */
    public static ObjectMapper mapper() {
        return MAPPER;
    }
}
