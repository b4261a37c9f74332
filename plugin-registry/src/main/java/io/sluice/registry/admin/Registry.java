package io.sluice.registry.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.registry.config.ConfigException;
import io.sluice.registry.config.ConfigParser;
import io.sluice.registry.config.GatewayConfig;
import io.sluice.registry.config.PathPattern;
import io.sluice.registry.config.PluginCatalog;
import io.sluice.registry.config.Problem;
import io.sluice.registry.config.SourceTree;
import io.sluice.registry.model.EntityChange;
import io.sluice.registry.model.EntityKind;
import io.sluice.registry.model.EntitySet;
import io.sluice.registry.store.ConfigVersion;
import io.sluice.registry.store.StaleVersionException;
import io.sluice.registry.store.Store;
import io.sluice.registry.store.StoredConfig;
import io.sluice.registry.store.VersionChanges;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * The control plane's config logic, free of HTTP. The config is a set of entities ({@link EntitySet}) held in
 * memory, kept equal to the store's newest version by applying the change sets committed since (by this or any
 * other control plane). A write computes its change set against that model and validates only what it touches:
 * the changed entities (document schema, plugins and their schemas, path patterns), the cross-entity rules they
 * take part in, through indexes (path/method/host conflicts, API-key uniqueness, a key's consumer), and the
 * runtime's trial build of the changed routes (all routes only when the global plugins change). Then it commits
 * the change set as version N+1. A change that fails any check commits nothing; a change that lost a race with
 * another writer is recomputed on the newer version.
 *
 * <p>Import validates the whole document, all or nothing, and commits only the entities that differ by value.
 */
public final class Registry {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int COMMIT_ATTEMPTS = 30;
    /** Beyond this many changes to catch up with, reload the whole config instead. */
    private static final int CATCH_UP_LIMIT = 20_000;

    /** A last check of a parsed (partial) config, e.g. building its filters once; throws to refuse it. */
    @FunctionalInterface
    public interface Check {
        /**
         * @param config the parsed config: the global plugins and the routes a change touches
         * @throws ConfigException to refuse it
         */
        void check(GatewayConfig config) throws ConfigException;
    }

    /** Told about every version committed through this registry, after the commit. */
    @FunctionalInterface
    public interface Listener {
        /**
         * @param version the committed version
         * @param changes its change set
         */
        void committed(ConfigVersion version, List<EntityChange> changes);
    }

    /**
     * A change that was committed.
     *
     * @param version the new version
     * @param changes what differs from the previous version, as the API reports it
     * @param entityChanges the change set itself
     */
    public record Committed(ConfigVersion version, List<Change> changes, List<EntityChange> entityChanges) {
    }

    /**
     * One difference between two configs, as the admin API reports it.
     *
     * @param kind   {@code route}, {@code consumer}, {@code global_plugins}, {@code settings} or
     *               {@code trusted_jar_signers} (a change of API keys is a change of their consumer)
     * @param id     the route or consumer id ({@code *} for the singletons)
     * @param change {@code added}, {@code removed} or {@code changed}
     */
    public record Change(String kind, String id, String change) {
    }

    private final Store store;
    private final ConfigParser parser;
    private final Check check;
    private final PluginCatalog catalog;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    // guarded by lock
    private EntitySet model = new EntitySet();
    private long version;
    private ConfigVersion latest;
    private boolean loaded;
    private final Indexes indexes = new Indexes();

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

    /** @return the plugins configs may name */
    public PluginCatalog catalog() {
        return catalog;
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

    // ---- reading

    /**
     * Reads the current config (first catching up with versions other control planes committed).
     *
     * @param read what to compute from it, under a read lock; must not keep the set
     * @param <T>  result type
     * @return the result
     */
    public <T> T read(Function<View, T> read) {
        sync();
        lock.readLock().lock();
        try {
            return read.apply(new View(version, latest, model));
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * The current config as seen by a reader.
     *
     * @param version  the version number (0 before the first commit)
     * @param latest   its metadata (null for 0)
     * @param entities the entities (read only)
     */
    public record View(long version, ConfigVersion latest, EntitySet entities) {
    }

    /**
     * @return the current version number
     */
    public long version() {
        return read(View::version);
    }

    /**
     * @return the current config as a declarative document (a private copy)
     */
    public ObjectNode document() {
        return read(v -> v.entities().document());
    }

    /**
     * The config as it was at a kept version: the current entities with the change sets since undone.
     *
     * @param n a version number
     * @return its entities, or empty when that version is unknown or pruned
     */
    public Optional<EntitySet> at(long n) {
        sync();
        EntitySet s;
        long now;
        lock.readLock().lock();
        try {
            now = version;
            if (n > now || n < 1) {
                return Optional.empty();
            }
            s = model.copy();
        } finally {
            lock.readLock().unlock();
        }
        if (n == now) {
            return Optional.of(s);
        }
        // the store is read without holding the lock; versions committed meanwhile are not part of the copy
        if (store.version(n).isEmpty()) {
            return Optional.empty();
        }
        Optional<List<VersionChanges>> since = store.changesSince(n, Integer.MAX_VALUE);
        if (since.isEmpty()) {
            return Optional.empty();
        }
        List<VersionChanges> list = since.get();
        for (int i = list.size() - 1; i >= 0; i--) {
            if (list.get(i).version().version() > now) {
                continue;
            }
            List<EntityChange> cs = list.get(i).changes();
            for (int j = cs.size() - 1; j >= 0; j--) {
                s.apply(List.of(cs.get(j).inverse()));
            }
        }
        return Optional.of(s);
    }

    /** Catches the model up with the store: the change sets since its version, or the whole config. */
    private void sync() {
        long newest = store.latestVersion();
        lock.readLock().lock();
        try {
            if (loaded && newest == version) {
                return;
            }
        } finally {
            lock.readLock().unlock();
        }
        lock.writeLock().lock();
        try {
            syncLocked();
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void syncLocked() {
        Optional<List<VersionChanges>> since = loaded ? store.changesSince(version, CATCH_UP_LIMIT) : Optional.empty();
        if (since.isEmpty()) {
            StoredConfig all = store.load();
            model = all.entities();
            version = all.version();
            latest = all.latest();
            indexes.rebuild(model);
            loaded = true;
            return;
        }
        for (VersionChanges vc : since.get()) {
            indexes.apply(vc.changes());
            model.apply(vc.changes());
            version = vc.version().version();
            latest = vc.version();
        }
    }

    // ---- writing

    /**
     * Computes a change set from the current config, validates it and commits it. Retries the whole
     * compute-validate-commit when another writer committed first.
     *
     * @param author  token name
     * @param role    token role
     * @param summary one line for the history
     * @param edit    computes the change set from the current entities (may throw {@link ApiError}); an empty
     *                change set commits nothing
     * @param rewrite maps paths in validation problems (relative to a document of the changed entities, e.g.
     *                {@code routes[0].paths[1]}) to the paths of the request body
     * @return the commit; with a null version when there was nothing to change
     * @throws ApiError 400/409 (see {@link #invalid}) when the result does not validate
     */
    public Committed change(String author, Role role, String summary,
                            Function<EntitySet, List<EntityChange>> edit, UnaryOperator<String> rewrite) {
        return commit(author, role, summary, edit, rewrite, true);
    }

    /**
     * Imports a whole document: validated whole (all or nothing, problems with the document's lines), then only
     * the entities that differ by value are committed. The change set is not validated a second time: the
     * document it comes from is the whole config.
     *
     * @param tree    the uploaded document
     * @param author  token name
     * @param role    token role
     * @param summary one line for the history
     * @return the commit (a null version when it equals the current config)
     * @throws ApiError 400/409 when the document does not validate
     */
    public Committed importDocument(SourceTree tree, String author, Role role, String summary) {
        long base = version();
        List<EntityChange> validated;
        try {
            validated = validateImport(tree);
        } catch (ConfigException e) {
            throw invalid(e, p -> p);
        }
        ObjectNode doc = (ObjectNode) tree.root();
        // the change set computed while validating holds unless another write committed meanwhile
        return commit(author, role, summary, m -> version == base ? validated : replaceAll(m, doc), p -> p, false);
    }

    private Committed commit(String author, Role role, String summary,
                             Function<EntitySet, List<EntityChange>> edit, UnaryOperator<String> rewrite,
                             boolean validate) {
        boolean lost = false;
        for (int attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
            if (lost) {
                backOff(attempt);
            }
            lock.writeLock().lock();
            try {
                syncLocked();
                List<EntityChange> changes = edit.apply(model);
                if (changes.isEmpty()) {
                    return new Committed(null, List.of(), List.of());
                }
                try {
                    if (validate) {
                        validate(changes);
                    }
                } catch (ConfigException e) {
                    throw invalid(e, rewrite);
                }
                ConfigVersion v;
                try {
                    v = store.commit(version, changes, author, role.wire(), summary);
                } catch (StaleVersionException e) {
                    // someone else (another control plane) committed meanwhile: catch up and redo the edit on their
                    // version, after a short random pause so that racing writers do not keep colliding
                    lost = true;
                    continue;
                }
                indexes.apply(changes);
                model.apply(changes);
                version = v.version();
                latest = v;
                for (Listener l : listeners) {
                    l.committed(v, changes);
                }
                return new Committed(v, publicChanges(changes), changes);
            } finally {
                lock.writeLock().unlock();
            }
        }
        throw new ApiError(409, "concurrent_change", "the config kept changing under this request; try again");
    }

    private static void backOff(int attempt) {
        try {
            Thread.sleep(java.util.concurrent.ThreadLocalRandom.current().nextLong(1, 2L + Math.min(attempt, 10) * 3L));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiError(503, "interrupted", "the change was interrupted; nothing was changed");
        }
    }

    /**
     * The change set that puts one entity (or removes it, when {@code body} is null).
     *
     * @param entities the current entities
     * @param kind     kind
     * @param id       id
     * @param body     the new body, or null to remove
     * @return the change, or none when it is equal by value
     */
    public List<EntityChange> set(EntitySet entities, EntityKind kind, String id, JsonNode body) {
        String before = entities.get(kind, id);
        String after = null;
        if (body != null) {
            JsonNode pinned = body.deepCopy();
            pin(kind, pinned);
            after = EntitySet.text(pinned);
        }
        if (EntitySet.same(before, after)) {
            return List.of();
        }
        return List.of(new EntityChange(kind, id, before, after));
    }

    /**
     * The changes a whole document makes to the current config: the entities that differ by value.
     *
     * @param entities the current entities
     * @param document a validated document
     * @return the change set
     */
    public List<EntityChange> replaceAll(EntitySet entities, ObjectNode document) {
        ObjectNode doc = document.deepCopy();
        pinDocument(doc);
        return entities.changesTo(EntitySet.of(doc));
    }

    /**
     * Rolls back: a new version whose entities equal those of version {@code n}.
     *
     * @param n      the version to return to
     * @param author token name
     * @param role   token role
     * @return the commit (null version when the config already equals it)
     * @throws ApiError 404 when that version is unknown or pruned
     */
    public Committed rollback(long n, String author, Role role) {
        EntitySet target = at(n).orElseThrow(() -> new ApiError(404, "not_found", "config version " + n
                + " does not exist (only the newest " + store.keptVersions() + " are kept)"));
        return change(author, role, "rollback to version " + n, current -> current.changesTo(target), p -> p);
    }

    /**
     * Parses and fully validates a document (schema, plugins, conflicts) and trial-builds its routes.
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
        runtimeCheck(config, tree);
        return config;
    }

    /**
     * Parses and fully validates an uploaded document (schema, plugins, conflicts), all or nothing, and trial-builds
     * only the routes that differ from the current config (the others were built when they were written).
     *
     * @param tree the parsed upload
     * @return the change set it makes to the current config
     * @throws ConfigException with every problem
     */
    public List<EntityChange> validateImport(SourceTree tree) throws ConfigException {
        GatewayConfig config = parser.parse(tree);
        List<EntityChange> changes = read(v -> replaceAll(v.entities(), (ObjectNode) tree.root()));
        boolean globals = changes.stream().anyMatch(c -> c.kind() == EntityKind.GLOBAL_PLUGINS);
        Set<String> changed = new HashSet<>();
        changes.stream().filter(c -> c.kind() == EntityKind.ROUTE && c.after() != null).forEach(c -> changed.add(c.id()));
        boolean upstreams = changes.stream().anyMatch(c -> c.kind() == EntityKind.UPSTREAM && c.after() != null);
        if (globals || upstreams || !changed.isEmpty()) {
            runtimeCheck(new GatewayConfig(config.globalPlugins(), globals ? config.routes()
                    : config.routes().stream().filter(r -> changed.contains(r.id())).toList(), List.of(),
                    config.settings(), config.upstreams()), tree);
        }
        return changes;
    }

    private void runtimeCheck(GatewayConfig config, SourceTree tree) throws ConfigException {
        try {
            check.check(config);
        } catch (ConfigException e) {
            // the trial build numbers routes within the config it was given; map them to the document's
            Map<String, Integer> indexOf = new HashMap<>();
            JsonNode routes = tree.root().path("routes");
            for (int i = 0; i < routes.size(); i++) {
                indexOf.put(routes.get(i).path("id").asText(), i);
            }
            List<Problem> out = new ArrayList<>();
            for (Problem p : e.problems()) {
                String path = p.path();
                if (path.startsWith("routes[")) {
                    int end = path.indexOf(']');
                    int i = Integer.parseInt(path.substring(7, end));
                    Integer real = i < config.routes().size() ? indexOf.get(config.routes().get(i).id()) : null;
                    if (real != null) {
                        path = "routes[" + real + "]" + path.substring(end + 1);
                    }
                }
                out.add(p.line() > 0 ? new Problem(path, p.line(), p.message(), p.conflict())
                        : new Problem(path, tree.lineOf(path), p.message(), p.conflict()));
            }
            throw new ConfigException(out);
        }
    }

    /**
     * Validates a change set against the current model: the changed entities in a document of their own, the
     * cross-entity rules through the indexes, and the runtime's trial build of what they touch.
     */
    private void validate(List<EntityChange> changes) throws ConfigException {
        Map<EntityKind, LinkedHashMap<String, String>> after = new java.util.EnumMap<>(EntityKind.class);
        for (EntityChange c : changes) {
            after.computeIfAbsent(c.kind(), k -> new LinkedHashMap<>()).put(c.id(), c.after());
        }
        Map<String, String> routes = after.getOrDefault(EntityKind.ROUTE, new LinkedHashMap<>());
        Map<String, String> consumers = after.getOrDefault(EntityKind.CONSUMER, new LinkedHashMap<>());
        Map<String, String> keys = after.getOrDefault(EntityKind.API_KEY, new LinkedHashMap<>());
        Map<String, String> upstreams = after.getOrDefault(EntityKind.UPSTREAM, new LinkedHashMap<>());
        boolean globalsChanged = after.containsKey(EntityKind.GLOBAL_PLUGINS);

        ObjectNode doc = MAPPER.createObjectNode();
        String globals = globalsChanged ? after.get(EntityKind.GLOBAL_PLUGINS).get(EntityKind.SINGLE)
                : model.get(EntityKind.GLOBAL_PLUGINS, EntityKind.SINGLE);
        if (globals != null) {
            doc.set(EntityKind.GLOBAL_PLUGINS.field(), EntitySet.tree(globals));
        }
        ArrayNode routeArr = doc.putArray(EntityKind.ROUTE.field());
        routes.forEach((id, body) -> {
            if (body != null) {
                routeArr.add(EntitySet.tree(body));
            }
        });
        if (globalsChanged) {
            // a global filter may want upstream groups of every route: check them all
            model.all(EntityKind.ROUTE).forEach((id, body) -> {
                if (!routes.containsKey(id)) {
                    routeArr.add(EntitySet.tree(body));
                }
            });
        }
        // consumers touched (themselves or through a key), each with its keys as they will be
        Set<String> touched = new LinkedHashSet<>(consumers.keySet());
        Map<String, List<String>> changedKeysOf = new HashMap<>();
        keys.keySet().forEach(k -> changedKeysOf.computeIfAbsent(EntityKind.parentOf(k), c -> new ArrayList<>()).add(k));
        touched.addAll(changedKeysOf.keySet());
        ArrayNode consumerArr = doc.putArray(EntityKind.CONSUMER.field());
        List<Problem> problems = new ArrayList<>();
        for (String c : touched) {
            String body = consumers.containsKey(c) ? consumers.get(c) : model.get(EntityKind.CONSUMER, c);
            Set<String> keyIds = new java.util.TreeSet<>(model.keysOf(c));
            for (String k : changedKeysOf.getOrDefault(c, List.of())) {
                if (keys.get(k) == null) {
                    keyIds.remove(k);
                } else {
                    keyIds.add(k);
                }
            }
            if (body == null) {
                if (!keyIds.isEmpty()) {
                    problems.add(new Problem("consumers", 0, "consumer '" + c + "' does not exist but has API keys"));
                }
                continue;
            }
            ObjectNode element = (ObjectNode) EntitySet.tree(body);
            if (!keyIds.isEmpty()) {
                ArrayNode arr = element.putArray(EntityKind.API_KEY.field());
                for (String k : keyIds) {
                    arr.add(EntitySet.tree(keys.containsKey(k) ? keys.get(k) : model.get(EntityKind.API_KEY, k)));
                }
            }
            consumerArr.add(element);
        }
        for (EntityKind k : List.of(EntityKind.SETTINGS, EntityKind.TRUSTED_JAR_SIGNERS)) {
            String body = after.containsKey(k) ? after.get(k).get(EntityKind.SINGLE) : null;
            if (body != null) {
                doc.set(k.field(), EntitySet.tree(body));
            }
        }
        // the changed upstreams, and those the listed routes name, as they will be; a deleted one still named by a
        // route that stays is a conflict
        Set<String> named = new java.util.TreeSet<>(upstreams.keySet());
        routeArr.forEach(r -> named.addAll(namedUpstreams(r)));
        ArrayNode upstreamArr = doc.putArray(EntityKind.UPSTREAM.field());
        for (String u : named) {
            String body = upstreams.containsKey(u) ? upstreams.get(u) : model.get(EntityKind.UPSTREAM, u);
            if (body != null) {
                upstreamArr.add(EntitySet.tree(body));
            } else if (upstreams.containsKey(u)) {
                List<String> users = indexes.usersOf(u).stream()
                        .filter(r -> !routes.containsKey(r) || routes.get(r) != null).toList();
                if (!users.isEmpty()) {
                    problems.add(new Problem("upstreams", 0, "upstream '" + u + "' is used by route"
                            + (users.size() == 1 ? " '" + users.getFirst() + "'" : "s " + users)
                            + "; point " + (users.size() == 1 ? "it" : "them") + " elsewhere first", true));
                }
            }
        }
        Map<String, String> certs = after.get(EntityKind.CERTIFICATE);
        if (certs != null) {
            // a server name belongs to one certificate: check them all, as they will be (they are few)
            ArrayNode certArr = doc.putArray(EntityKind.CERTIFICATE.field());
            model.all(EntityKind.CERTIFICATE).forEach((id, body) -> {
                if (!certs.containsKey(id)) {
                    certArr.add(EntitySet.tree(body));
                }
            });
            certs.forEach((id, body) -> {
                if (body != null) {
                    certArr.add(EntitySet.tree(body));
                }
            });
        }
        if (routeArr.isEmpty()) {
            doc.remove(EntityKind.ROUTE.field());
        }
        if (consumerArr.isEmpty()) {
            doc.remove(EntityKind.CONSUMER.field());
        }
        if (upstreamArr.isEmpty()) {
            doc.remove(EntityKind.UPSTREAM.field());
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        SourceTree tree = SourceTree.parse(doc.toString());
        GatewayConfig config;
        try {
            config = parser.parse(tree);
        } catch (ConfigException e) {
            problems.addAll(e.problems());
            throw new ConfigException(problems);
        }
        indexes.check(routes, keys, doc, problems);
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        if (globalsChanged || !routes.isEmpty() || !upstreams.isEmpty()) {
            runtimeCheck(new GatewayConfig(config.globalPlugins(), config.routes(), List.of(), config.settings(),
                    config.upstreams()), tree);
        }
    }

    /**
     * The shared upstreams a route names: its {@code upstream} and its {@code upstreams} groups, where they are ids.
     *
     * @param route a route's body
     * @return the upstream ids
     */
    public static Set<String> namedUpstreams(JsonNode route) {
        Set<String> out = new java.util.TreeSet<>();
        if (route.path("upstream").isTextual()) {
            out.add(route.get("upstream").asText());
        }
        route.path("upstreams").forEach(g -> {
            if (g.isTextual()) {
                out.add(g.asText());
            }
        });
        return out;
    }

    /**
     * The cross-entity rules, as indexes over the current model: which route holds each host|method|path shape,
     * and which API key holds each key hash.
     */
    private static final class Indexes {
        private final Map<String, String> routeSlots = new HashMap<>();
        private final Map<String, List<String>> slotsOf = new HashMap<>();
        private final Map<String, String> keyHashes = new HashMap<>();
        // upstream id -> the routes that name it, and each route's named upstreams
        private final Map<String, Set<String>> usersOf = new HashMap<>();
        private final Map<String, Set<String>> namedBy = new HashMap<>();

        void rebuild(EntitySet model) {
            routeSlots.clear();
            slotsOf.clear();
            keyHashes.clear();
            usersOf.clear();
            namedBy.clear();
            model.all(EntityKind.ROUTE).forEach((id, body) -> addRoute(id, body));
            model.all(EntityKind.API_KEY).forEach((id, body) -> keyHashes.put(hashOf(body), id));
        }

        void apply(List<EntityChange> changes) {
            for (EntityChange c : changes) {
                if (c.kind() == EntityKind.ROUTE) {
                    removeRoute(c.id());
                    if (c.after() != null) {
                        addRoute(c.id(), c.after());
                    }
                } else if (c.kind() == EntityKind.API_KEY) {
                    if (c.before() != null) {
                        keyHashes.remove(hashOf(c.before()), c.id());
                    }
                    if (c.after() != null) {
                        keyHashes.put(hashOf(c.after()), c.id());
                    }
                }
            }
        }

        private void addRoute(String id, String body) {
            JsonNode route = EntitySet.tree(body);
            List<String> slots = slots(route).values().stream().flatMap(List::stream).toList();
            slots.forEach(s -> routeSlots.putIfAbsent(s, id));
            slotsOf.put(id, slots);
            Set<String> named = namedUpstreams(route);
            if (!named.isEmpty()) {
                namedBy.put(id, named);
                named.forEach(u -> usersOf.computeIfAbsent(u, k -> new java.util.TreeSet<>()).add(id));
            }
        }

        private void removeRoute(String id) {
            List<String> slots = slotsOf.remove(id);
            if (slots != null) {
                slots.forEach(s -> routeSlots.remove(s, id));
            }
            Set<String> named = namedBy.remove(id);
            if (named != null) {
                named.forEach(u -> {
                    Set<String> users = usersOf.get(u);
                    users.remove(id);
                    if (users.isEmpty()) {
                        usersOf.remove(u);
                    }
                });
            }
        }

        /** The routes that name an upstream now. */
        Set<String> usersOf(String upstream) {
            return usersOf.getOrDefault(upstream, Set.of());
        }

        /** Conflicts of the changed routes and keys with the rest of the config. */
        void check(Map<String, String> routes, Map<String, String> keys, ObjectNode doc, List<Problem> problems) {
            JsonNode routeArr = doc.path(EntityKind.ROUTE.field());
            for (int i = 0; i < routeArr.size(); i++) {
                JsonNode r = routeArr.get(i);
                String id = r.path("id").asText();
                if (!routes.containsKey(id)) {
                    continue;   // unchanged, listed only for the trial build
                }
                for (Map.Entry<Integer, List<String>> e : slots(r).entrySet()) {
                    for (String slot : e.getValue()) {
                        String owner = routeSlots.get(slot);
                        if (owner != null && !owner.equals(id) && !routes.containsKey(owner)) {
                            String[] parts = slot.split("\\|", 3);
                            problems.add(new Problem("routes[" + i + "].paths[" + e.getKey() + "]", 0,
                                    "conflicts with route '" + owner + "': same path"
                                            + ("*".equals(parts[1]) ? "" : ", method " + parts[1])
                                            + ("*".equals(parts[0]) ? "" : ", host " + parts[0]), true));
                        }
                    }
                }
            }
            keys.forEach((id, body) -> {
                if (body == null) {
                    return;
                }
                String owner = keyHashes.get(hashOf(body));
                if (owner != null && !owner.equals(id) && !keys.containsKey(owner)) {
                    problems.add(new Problem("consumers", 0, "the same key is already registered for consumer '"
                            + EntityKind.parentOf(owner) + "'", true));
                }
            });
        }

        /** Each path's slots: {@code host|method|shape}, {@code *} standing for any host or method. */
        private static Map<Integer, List<String>> slots(JsonNode route) {
            Map<Integer, List<String>> out = new LinkedHashMap<>();
            List<String> hosts = new ArrayList<>();
            route.path("hosts").forEach(h -> hosts.add(h.asText().toLowerCase(Locale.ROOT)));
            List<String> methods = new ArrayList<>();
            route.path("methods").forEach(m -> methods.add(m.asText()));
            if (hosts.isEmpty()) {
                hosts.add("*");
            }
            if (methods.isEmpty()) {
                methods.add("*");
            }
            JsonNode paths = route.path("paths");
            for (int p = 0; p < paths.size(); p++) {
                String shape;
                try {
                    shape = PathPattern.parse(paths.get(p).asText()).shape();
                } catch (IllegalArgumentException e) {
                    continue;   // the parser reports it
                }
                List<String> slots = new ArrayList<>();
                for (String h : hosts) {
                    for (String m : methods) {
                        slots.add(h + "|" + m + "|" + shape);
                    }
                }
                out.put(p, slots);
            }
            return out;
        }

        private static String hashOf(String keyBody) {
            return EntitySet.tree(keyBody).path("hash").asText();
        }
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
     * A change set as the admin API reports it: one entry per route, consumer or singleton; API key changes
     * count as a change of their consumer.
     *
     * @param changes a change set
     * @return the public changes, in order
     */
    public static List<Change> publicChanges(List<EntityChange> changes) {
        Map<String, Change> out = new LinkedHashMap<>();
        Set<String> consumersChanged = new HashSet<>();
        for (EntityChange c : changes) {
            if (c.kind() == EntityKind.CONSUMER) {
                consumersChanged.add(c.id());
            }
        }
        for (EntityChange c : changes) {
            if (c.kind() == EntityKind.API_KEY) {
                String consumer = EntityKind.parentOf(c.id());
                if (!consumersChanged.contains(consumer)) {
                    out.putIfAbsent("consumer/" + consumer, new Change("consumer", consumer, "changed"));
                }
                continue;
            }
            out.put(c.kind().wire() + "/" + c.id(), new Change(c.kind().wire(), c.id(), c.change()));
        }
        return List.copyOf(out.values());
    }

    // ---- pinning

    /** Plugin entries naming an uploaded filter without a version get its newest version, written down. */
    private void pin(EntityKind kind, JsonNode body) {
        if (kind == EntityKind.GLOBAL_PLUGINS) {
            body.forEach(this::pinEntry);
        } else if (kind == EntityKind.ROUTE) {
            body.path("plugins").forEach(this::pinEntry);
        }
    }

    private void pinDocument(ObjectNode doc) {
        doc.path("global_plugins").forEach(this::pinEntry);
        doc.path("routes").forEach(r -> r.path("plugins").forEach(this::pinEntry));
    }

    private void pinEntry(JsonNode e) {
        if (e instanceof ObjectNode o && !o.has("version") && o.path("name").isTextual()) {
            catalog.latestUploaded(o.path("name").asText()).ifPresent(v -> o.put("version", v));
        }
    }

    /**
     * @return the shared mapper
     */
    public static ObjectMapper mapper() {
        return MAPPER;
    }
}
