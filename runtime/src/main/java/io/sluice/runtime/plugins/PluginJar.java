package io.sluice.runtime.plugins;

import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;
import io.sluice.plugin.PluginApi;
import org.pf4j.CompoundPluginDescriptorFinder;
import org.pf4j.DefaultVersionManager;
import org.pf4j.JarPluginManager;
import org.pf4j.ManifestPluginDescriptorFinder;
import org.pf4j.PluginClassLoader;
import org.pf4j.PluginDescriptor;
import org.pf4j.PluginLoader;
import org.pf4j.PluginManager;
import org.pf4j.PropertiesPluginDescriptorFinder;

import java.lang.reflect.InvocationTargetException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One PF4J plugin jar, loaded in its own class loader. The loader sees the JDK, plugin-api and pf4j from the
 * gateway and everything else from the jar itself, so a plugin cannot come to depend on the gateway's libraries.
 * Each jar gets its own {@link PluginManager}: two versions of one plugin (same PF4J id) are loaded side by side
 * while a route moves from one to the other. {@link #close()} stops the plugin and closes its class loader.
 *
 * <p>This class needs only the JDK, pf4j and plugin-api: the control plane runs it in a child JVM with just those
 * on the class path to inspect an upload ({@link JarInspector}), so it must not reach for the gateway's other
 * classes.
 */
public final class PluginJar implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PluginJar.class.getName());
    /** The gateway classes a plugin may see: the API it is written against. */
    private static final ClassLoader API = new ApiOnlyLoader();

    private final PluginManager manager;
    private final String id;
    private final ClassLoader loader;
    private final FilterFactory factory;
    private final FilterDescriptor descriptor;

    private PluginJar(PluginManager manager, String id, ClassLoader loader, FilterFactory factory,
                      FilterDescriptor descriptor) {
        this.manager = manager;
        this.id = id;
        this.loader = loader;
        this.factory = factory;
        this.descriptor = descriptor;
    }

    /**
     * Loads a plugin jar and checks it: a PF4J descriptor ({@code Plugin-Id}, {@code Plugin-Version},
     * {@code Plugin-Requires} naming a plugin-api range that includes this gateway's), exactly one
     * {@link FilterFactory} extension in its extension index, a public no-argument constructor that does not
     * throw, and a descriptor whose name and version are the plugin's id and version. (Whether the schema is a
     * JSON Schema is the caller's check: it needs the gateway's schema library.)
     *
     * @param jar the jar file
     * @return the loaded plugin; close it to unload
     * @throws Refused with what is wrong, the plugin unloaded
     */
    public static PluginJar load(Path jar) throws Refused {
        PluginDescriptor d = descriptor(jar);
        Manager m = new Manager(jar.getParent());
        m.setSystemVersion(PluginApi.version());
        String id = null;
        try {
            id = m.loadPlugin(jar);
            m.startPlugin(id);
            ClassLoader loader = m.getPluginClassLoader(id);
            List<Class<? extends FilterFactory>> found = m.getExtensionClasses(FilterFactory.class, id);
            if (found.isEmpty()) {
                throw invalid("the jar has no FilterFactory extension: list the class in META-INF/extensions.idx"
                        + " (PF4J's annotation processor writes it for classes marked @Extension; on JDK 23 and later"
                        + " javac runs it only when named: maven-compiler-plugin annotationProcessorPaths with"
                        + " org.pf4j:pf4j, or -proc:full)");
            }
            if (found.size() > 1) {
                throw invalid("the jar has " + found.size() + " FilterFactory extensions " + found
                        + "; a plugin jar carries one filter");
            }
            FilterFactory factory = instantiate(found.getFirst(), loader);
            FilterDescriptor fd = describe(factory, loader);
            List<String> problems = new ArrayList<>();
            if (!fd.name().equals(d.getPluginId())) {
                problems.add("the FilterFactory's descriptor names the filter '" + fd.name()
                        + "' but the jar's Plugin-Id is '" + d.getPluginId() + "'; they must be the same");
            }
            if (!fd.version().equals(d.getVersion())) {
                problems.add("the FilterFactory's descriptor has version " + fd.version()
                        + " but the jar's Plugin-Version is " + d.getVersion() + "; they must be the same");
            }
            if (!problems.isEmpty()) {
                throw new Refused(problems);
            }
            return new PluginJar(m, id, loader, factory, fd);
        } catch (Refused e) {
            unload(m, id);
            throw e;
        } catch (RuntimeException | LinkageError e) {
            unload(m, id);
            throw invalid("the plugin does not load: " + e);
        }
    }

    /** @return the filter factory the jar provides */
    public FilterFactory factory() {
        return factory;
    }

    /** @return the factory's descriptor, read once */
    public FilterDescriptor descriptor() {
        return descriptor;
    }

    /** @return the jar's class loader (made the context class loader of the plugin's code) */
    public ClassLoader loader() {
        return loader;
    }

    @Override
    public void close() {
        unload(manager, id);
    }

    private static PluginDescriptor descriptor(Path jar) throws Refused {
        PluginDescriptor d;
        try {
            d = new CompoundPluginDescriptorFinder().add(new PropertiesPluginDescriptorFinder())
                    .add(new ManifestPluginDescriptorFinder()).find(jar);
        } catch (RuntimeException e) {
            throw invalid("no PF4J plugin descriptor: the jar's MANIFEST.MF (or plugin.properties) must carry"
                    + " Plugin-Id, Plugin-Version and Plugin-Requires");
        }
        List<String> problems = new ArrayList<>();
        if (blank(d.getPluginId())) {
            problems.add("the PF4J descriptor has no Plugin-Id");
        }
        if (blank(d.getVersion())) {
            problems.add("the PF4J descriptor has no Plugin-Version");
        }
        String requires = d.getRequires();
        if (blank(requires) || requires.trim().equals("*")) {
            problems.add("the PF4J descriptor must state the plugin-api versions it was built for, e.g."
                    + " Plugin-Requires: >=" + PluginApi.version() + " & <" + nextBreaking());
        } else {
            boolean ok;
            try {
                ok = new DefaultVersionManager().checkVersionConstraint(PluginApi.version(), requires);
            } catch (RuntimeException e) {
                ok = false;
                problems.add("Plugin-Requires '" + requires + "' is not a version range: " + e.getMessage());
            }
            if (!ok && problems.isEmpty()) {
                problems.add("the plugin was built for plugin-api " + requires
                        + " (Plugin-Requires) but this gateway provides plugin-api " + PluginApi.version()
                        + "; rebuild it against plugin-api " + PluginApi.version());
            }
        }
        if (!problems.isEmpty()) {
            throw new Refused(problems);
        }
        return d;
    }

    /** The first version with breaking changes after this one: the next major, or the next minor before 1.0. */
    private static String nextBreaking() {
        String[] v = PluginApi.version().split("\\.");
        int major = Integer.parseInt(v[0]);
        return major == 0 ? "0." + (Integer.parseInt(v[1]) + 1) + ".0" : (major + 1) + ".0.0";
    }

    private static FilterFactory instantiate(Class<? extends FilterFactory> type, ClassLoader loader)
            throws Refused {
        return inPlugin(loader, () -> {
            try {
                return type.getDeclaredConstructor().newInstance();
            } catch (InvocationTargetException e) {
                throw invalid("FilterFactory " + type.getName() + " threw in its constructor: " + e.getCause());
            } catch (NoSuchMethodException | IllegalAccessException | InstantiationException e) {
                throw invalid("FilterFactory " + type.getName() + " needs a public constructor without arguments");
            }
        });
    }

    private static FilterDescriptor describe(FilterFactory f, ClassLoader loader) throws Refused {
        return inPlugin(loader, () -> {
            try {
                FilterDescriptor d = f.descriptor();
                if (d == null) {
                    throw invalid("FilterFactory.descriptor() returned null");
                }
                return d;
            } catch (RuntimeException e) {
                throw invalid("FilterFactory.descriptor() failed: " + e);
            }
        });
    }

    interface PluginCall<T, E extends Exception> {
        T call() throws E;
    }

    /** Runs plugin code with its class loader as the thread's context class loader. */
    static <T, E extends Exception> T inPlugin(ClassLoader loader, PluginCall<T, E> call) throws E {
        Thread t = Thread.currentThread();
        ClassLoader before = t.getContextClassLoader();
        t.setContextClassLoader(loader);
        try {
            return call.call();
        } finally {
            t.setContextClassLoader(before);
        }
    }

    private static void unload(PluginManager m, String id) {
        if (id == null) {
            return;
        }
        try {
            m.stopPlugin(id);
        } catch (RuntimeException | LinkageError e) {
            LOG.log(System.Logger.Level.WARNING, "plugin " + id + " failed to stop: " + e);
        }
        try {
            m.unloadPlugin(id);   // closes the plugin's class loader, which closes the jar
        } catch (RuntimeException | LinkageError e) {
            LOG.log(System.Logger.Level.WARNING, "plugin " + id + " failed to unload: " + e);
        }
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    private static Refused invalid(String message) {
        return new Refused(List.of(message));
    }

    /** A jar that is not a usable plugin. */
    public static final class Refused extends Exception {
        private final List<String> problems;

        /**
         * @param problems what is wrong, one sentence each
         */
        public Refused(List<String> problems) {
            super(problems.getFirst(), null, false, false);
            this.problems = List.copyOf(problems);
        }

        /** @return what is wrong */
        public List<String> problems() {
            return problems;
        }
    }

    /** PF4J's jar manager, with plugin class loaders whose parent exposes only the plugin API. */
    private static final class Manager extends JarPluginManager {
        Manager(Path root) {
            super(root);
        }

        @Override
        protected PluginLoader createPluginLoader() {
            PluginManager self = this;
            return new PluginLoader() {
                @Override
                public boolean isApplicable(Path path) {
                    return true;
                }

                @Override
                public ClassLoader loadPlugin(Path path, PluginDescriptor d) {
                    PluginClassLoader l = new PluginClassLoader(self, d, API) {
                        @Override
                        public Class<?> loadClass(String name) throws ClassNotFoundException {
                            // the API always comes from the gateway, even if the jar bundles a copy of it
                            return name.startsWith("io.sluice.plugin.") ? API.loadClass(name) : super.loadClass(name);
                        }
                    };
                    l.addFile(path.toFile());
                    return l;
                }
            };
        }
    }

    /** Delegates only plugin-api and pf4j to the gateway's class loader; the JDK comes from the platform. */
    private static final class ApiOnlyLoader extends ClassLoader {
        ApiOnlyLoader() {
            super("sluice-plugin-api", ClassLoader.getPlatformClassLoader());
        }

        @Override
        protected Class<?> findClass(String name) throws ClassNotFoundException {
            if (name.startsWith("io.sluice.plugin.") || name.startsWith("org.pf4j.")) {
                return PluginJar.class.getClassLoader().loadClass(name);
            }
            throw new ClassNotFoundException(name);
        }
    }
}
