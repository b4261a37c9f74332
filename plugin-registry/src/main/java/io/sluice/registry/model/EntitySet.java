package io.sluice.registry.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The config as entities: for each {@link EntityKind}, its entities by id as canonical JSON text. The one model
 * the control plane validates against and data planes follow; the declarative document is only its import and
 * export form ({@link #of(JsonNode)}, {@link #document()}). Not thread-safe: its owner guards it.
 *
 * <p>Bodies are kept as text, not trees: 50,000 consumers cost a few MB, not tens, and equal text is the common,
 * cheap case of "unchanged". Text that differs is compared as JSON by value ({@link #same(String, String)}), so
 * field order and {@code 100} versus {@code 100.0} never count as a change.
 */
public final class EntitySet {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final Map<EntityKind, TreeMap<String, String>> byKind = new EnumMap<>(EntityKind.class);
    private final Map<String, TreeSet<String>> keysByConsumer = new HashMap<>();

    /** An empty set. */
    public EntitySet() {
        for (EntityKind k : EntityKind.values()) {
            byKind.put(k, new TreeMap<>());
        }
    }

    /**
     * Splits a document into entities. The document should be valid; elements without an id are skipped.
     *
     * @param document the declarative document
     * @return its entities
     */
    public static EntitySet of(JsonNode document) {
        EntitySet s = new EntitySet();
        for (EntityKind k : EntityKind.values()) {
            JsonNode section = document.get(k.field());
            if (section == null || section.isNull() || k.shape() == EntityKind.Shape.NESTED) {
                continue;
            }
            if (k.shape() == EntityKind.Shape.SINGLETON) {
                if (!(section.isArray() && section.isEmpty())) {
                    s.put(k, EntityKind.SINGLE, text(section));
                }
                continue;
            }
            for (JsonNode e : section) {
                String id = e.path("id").asText(null);
                if (id == null) {
                    continue;
                }
                if (k == EntityKind.CONSUMER && e instanceof ObjectNode o && o.has(EntityKind.API_KEY.field())) {
                    ObjectNode body = o.deepCopy();
                    JsonNode keys = body.remove(EntityKind.API_KEY.field());
                    s.put(k, id, text(body));
                    for (JsonNode key : keys) {
                        String keyId = key.path("id").asText(null);
                        if (keyId != null) {
                            s.put(EntityKind.API_KEY, id + "/" + keyId, text(key));
                        }
                    }
                } else {
                    s.put(k, id, text(e));
                }
            }
        }
        return s;
    }

    /**
     * @return a deep copy
     */
    public EntitySet copy() {
        EntitySet s = new EntitySet();
        byKind.forEach((k, m) -> s.byKind.get(k).putAll(m));
        keysByConsumer.forEach((c, keys) -> s.keysByConsumer.put(c, new TreeSet<>(keys)));
        return s;
    }

    /**
     * @param kind kind
     * @param id   id
     * @return the entity's body, or null
     */
    public String get(EntityKind kind, String id) {
        return byKind.get(kind).get(id);
    }

    /**
     * @param kind kind
     * @return its entities by id, in id order (a read-only view)
     */
    public NavigableMap<String, String> all(EntityKind kind) {
        return Collections.unmodifiableNavigableMap(byKind.get(kind));
    }

    /**
     * @param consumer a consumer id
     * @return the ids ({@code consumer/key}) of its API keys
     */
    public List<String> keysOf(String consumer) {
        TreeSet<String> keys = keysByConsumer.get(consumer);
        return keys == null ? List.of() : List.copyOf(keys);
    }

    /**
     * @return how many entities there are, of every kind
     */
    public int size() {
        return byKind.values().stream().mapToInt(Map::size).sum();
    }

    /**
     * Applies changes in order; each change's {@code after} replaces (or, when null, removes) the entity.
     *
     * @param changes changes
     */
    public void apply(List<EntityChange> changes) {
        for (EntityChange c : changes) {
            if (c.after() == null) {
                remove(c.kind(), c.id());
            } else {
                put(c.kind(), c.id(), c.after());
            }
        }
    }

    private void put(EntityKind kind, String id, String body) {
        byKind.get(kind).put(id, body);
        if (kind == EntityKind.API_KEY) {
            keysByConsumer.computeIfAbsent(EntityKind.parentOf(id), c -> new TreeSet<>()).add(id);
        }
    }

    private void remove(EntityKind kind, String id) {
        byKind.get(kind).remove(id);
        if (kind == EntityKind.API_KEY) {
            String consumer = EntityKind.parentOf(id);
            TreeSet<String> keys = keysByConsumer.get(consumer);
            if (keys != null) {
                keys.remove(id);
                if (keys.isEmpty()) {
                    keysByConsumer.remove(consumer);
                }
            }
        }
    }

    /**
     * What turns this set into {@code target}: entities compared by value, unchanged ones left out. Removals of
     * API keys come before their consumer's removal; additions of consumers before their keys.
     *
     * @param target the wanted state
     * @return the change set, in kind order
     */
    public List<EntityChange> changesTo(EntitySet target) {
        List<EntityChange> out = new ArrayList<>();
        for (EntityKind k : EntityKind.values()) {
            TreeMap<String, String> a = byKind.get(k);
            TreeMap<String, String> b = target.byKind.get(k);
            for (Map.Entry<String, String> e : b.entrySet()) {
                String old = a.get(e.getKey());
                if (old == null || !same(old, e.getValue())) {
                    out.add(new EntityChange(k, e.getKey(), old, e.getValue()));
                }
            }
            for (Map.Entry<String, String> e : a.entrySet()) {
                if (!b.containsKey(e.getKey())) {
                    out.add(new EntityChange(k, e.getKey(), e.getValue(), null));
                }
            }
        }
        return out;
    }

    /**
     * The declarative document: {@code global_plugins}, {@code routes}, {@code consumers} (with their
     * {@code api_keys}), {@code settings}, {@code trusted_jar_signers}; empty sections left out; entities in id
     * order.
     *
     * @return a new document
     */
    public ObjectNode document() {
        ObjectNode doc = MAPPER.createObjectNode();
        for (EntityKind k : EntityKind.values()) {
            TreeMap<String, String> m = byKind.get(k);
            if (m.isEmpty() || k.shape() == EntityKind.Shape.NESTED) {
                continue;
            }
            if (k.shape() == EntityKind.Shape.SINGLETON) {
                doc.set(k.field(), tree(m.get(EntityKind.SINGLE)));
                continue;
            }
            ArrayNode arr = doc.putArray(k.field());
            m.forEach((id, body) -> arr.add(element(k, id, body)));
        }
        return doc;
    }

    /**
     * One collection entity as it appears in the document (a consumer with its keys).
     *
     * @param kind a collection kind
     * @param id   id
     * @return the element, or null when absent
     */
    public ObjectNode element(EntityKind kind, String id) {
        String body = get(kind, id);
        return body == null ? null : element(kind, id, body);
    }

    private ObjectNode element(EntityKind kind, String id, String body) {
        ObjectNode n = (ObjectNode) tree(body);
        if (kind == EntityKind.CONSUMER) {
            TreeSet<String> keys = keysByConsumer.get(id);
            if (keys != null) {
                ArrayNode arr = n.putArray(EntityKind.API_KEY.field());
                keys.forEach(k -> arr.add(tree(get(EntityKind.API_KEY, k))));
            }
        }
        return n;
    }

    // ---- JSON by value

    /** 100 read from YAML (an int) equals 100.0 from elsewhere: numbers compare by value. */
    private static final Comparator<JsonNode> SAME_VALUE = (a, b) -> {
        if (a.equals(b)) {
            return 0;
        }
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue());
        }
        return 1;
    };

    /**
     * Whether two JSON texts mean the same value: objects compared without field order, numbers by value.
     *
     * @param a JSON text, or null
     * @param b JSON text, or null
     * @return true when equal
     */
    public static boolean same(String a, String b) {
        if (Objects.equals(a, b)) {
            return true;
        }
        if (a == null || b == null) {
            return false;
        }
        return same(tree(a), tree(b));
    }

    /**
     * @param a JSON
     * @param b JSON
     * @return whether they mean the same value (objects without field order, numbers by value)
     */
    public static boolean same(JsonNode a, JsonNode b) {
        return a.equals(SAME_VALUE, b);
    }

    /**
     * @param node JSON
     * @return its compact text, the stored form
     */
    public static String text(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * @param text stored JSON text
     * @return a new tree
     */
    public static JsonNode tree(String text) {
        try {
            return MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored entity is not JSON: " + e.getOriginalMessage(), e);
        }
    }
}
