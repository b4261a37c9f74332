package io.sluice.runtime;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.registry.admin.AuditLog;
import io.sluice.registry.config.ConfigException;
import io.sluice.registry.config.ConfigParser;
import io.sluice.registry.config.GatewayConfig;
import io.sluice.registry.config.Problem;
import io.sluice.registry.config.SourceTree;
import io.sluice.runtime.SluiceServer.Listeners;
import io.sluice.runtime.observe.AccessLog;
import io.sluice.runtime.observe.JsonLogFormatter;
import io.sluice.runtime.plugins.FilterDirectory;
import io.sluice.runtime.proxy.ConfigSnapshot;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.time.Duration;
import java.util.logging.LogManager;

/**
 * The {@code sluice} command line: {@code start} and {@code validate}. See ADMIN-API.md for the contract.
 */
public final class Main {
    static final String VERSION = "0.1.0";
    private static final String START_USAGE = """
            usage: sluice start [--config FILE] [--data-dir DIR] [--proxy-port N] [--admin-port N]
                                [--proxy-host ADDR] [--admin-host ADDR]
                                [--tls-port N [--tls-cert FILE --tls-key FILE]]
                                [--admin-tls-cert FILE --admin-tls-key FILE]
                                [--role standalone|control-plane|data-plane]
                                [--redis redis://HOST:PORT] [--postgres JDBC_URL]
                                [--log-format text|json]
                                [--access-log stdout|off|FILE] [--access-log-format combined|json]
                                [--audit-retention-days N] [--audit-max-rows N]
              runs a gateway (docs-site/src/docs/configuration.md#command-line); defaults: --data-dir .sluice,
              proxy 0.0.0.0:8080, admin 127.0.0.1:8081, --role standalone, --log-format text,
              --access-log stdout, --access-log-format combined (json when --log-format is json);
              no TLS listener unless --tls-port (certificates: PUT /v1/certificates/{id}, or the default one
              from --tls-cert/--tls-key PEM files); the admin listener speaks TLS with --admin-tls-cert/-key
            """;
    private static final String VALIDATE_USAGE = """
            usage: sluice validate [--plugins DIR] FILE
              checks a config file as the gateway would load it, without starting one
              (DIR: filter jars and .js files, checked as uploads are; the config may use them)
            """;
    private static final String VERSION_USAGE = """
            usage: sluice version
              prints the gateway's version
            """;
    private static final String SDK_USAGE = """
            usage: sluice sdk
              (bin/sluice) installs the plugin SDK into ~/.m2 and target/sdk-repo (docs-site/src/docs/sdk.md)
            """;
    private static final String HELP_USAGE = """
            usage: sluice help [COMMAND]
              this text, or one command's (also: sluice COMMAND --help)
            """;
    private static final String ENVIRONMENT = """

            environment (bin/sluice):
              SLUICE_HEAP       heap size, both -Xms and -Xmx (default 1g; not applied when
                                SLUICE_JAVA_OPTS has -Xmx, -XX:MaxRAMPercentage, -XX:MaxRAM or -XX:MaxHeapSize)
              SLUICE_GC         Parallel (default), G1, Z, Serial or Shenandoah
              SLUICE_JAVA_OPTS  more JVM options, last on the command line (they win)
              SLUICE_ADMIN_TOKEN  a platform admin token (no bootstrap token is generated)
              SLUICE_LOG_FORMAT text or json
            """;
    private static final Map<String, String> COMMANDS = Map.of("start", START_USAGE, "validate", VALIDATE_USAGE,
            "version", VERSION_USAGE, "sdk", SDK_USAGE, "help", HELP_USAGE);
    static final String USAGE = START_USAGE + VALIDATE_USAGE + VERSION_USAGE + SDK_USAGE + HELP_USAGE + ENVIRONMENT;

    private Main() {
    }

    /**
     * Entry point.
     *
     * @param args command line
     */
    public static void main(String[] args) {
        configureLogging();
        int code = run(args, System.out, System.err);
        if (code >= 0) {
            System.exit(code);
        }
    }

    /**
     * Runs a command.
     *
     * @return the exit code, or -1 when a server was started and keeps running
     */
    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
            out.print(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        if (COMMANDS.containsKey(args[0]) && List.of(args).subList(1, args.length).stream()
                .anyMatch(a -> a.equals("--help") || a.equals("-h"))) {
            out.print(COMMANDS.get(args[0]) + (args[0].equals("start") ? ENVIRONMENT : ""));
            return 0;
        }
        if (args[0].equals("help") && args.length > 1 && COMMANDS.containsKey(args[1])) {
            out.print(COMMANDS.get(args[1]) + (args[1].equals("start") ? ENVIRONMENT : ""));
            return 0;
        }
        if (args[0].equals("help")) {
            out.print(USAGE);
            return 0;
        }
        try {
            return switch (args[0]) {
                case "validate" -> validate(args, out, err);
                case "start" -> start(args, out, err);
                case "sdk" -> throw new UsageException(
                        "sdk is a bin/sluice command (it runs Maven); run bin/sluice sdk");
                case "version", "--version" -> {
                    out.println("sluice " + VERSION);
                    yield 0;
                }
                default -> throw new UsageException("unknown command '" + args[0] + "'");
            };
        } catch (UsageException e) {
            err.println("sluice: " + e.getMessage());
            err.print(COMMANDS.getOrDefault(args[0], USAGE));
            return 2;
        }
    }

    private static int validate(String[] args, PrintStream out, PrintStream err) throws UsageException {
        List<String> rest = new ArrayList<>(List.of(args).subList(1, args.length));
        Optional<Path> pluginsDir = Optional.empty();
        int at = rest.indexOf("--plugins");
        if (at < 0) {
            at = rest.stream().filter(a -> a.startsWith("--plugins=")).findFirst().map(rest::indexOf).orElse(-1);
            if (at >= 0) {
                pluginsDir = Optional.of(Path.of(rest.remove(at).substring("--plugins=".length())));
            }
        } else {
            if (at + 1 >= rest.size()) {
                throw new UsageException("--plugins needs a folder");
            }
            pluginsDir = Optional.of(Path.of(rest.remove(at + 1)));
            rest.remove(at);
        }
        if (rest.size() != 1 || rest.getFirst().startsWith("--")) {
            throw new UsageException("validate takes exactly one FILE (and optionally --plugins DIR)");
        }
        String file = rest.getFirst();
        FilterCatalog catalog = FilterCatalog.builtins();
        if (pluginsDir.isPresent()) {
            if (!Files.isDirectory(pluginsDir.get())) {
                throw new UsageException("--plugins " + pluginsDir.get() + " is not a folder");
            }
            List<Problem> bad = new ArrayList<>();
            Map<String, List<FilterDescriptor>> found = FilterDirectory.read(pluginsDir.get(), bad);
            if (!bad.isEmpty()) {
                bad.forEach(p -> err.println(p.message()));
                return 1;
            }
            catalog = catalog.withDescribed(found);
        }
        List<Problem> problems = new ArrayList<>();
        Loaded loaded = load(file, problems, catalog);
        if (loaded == null) {
            problems.forEach(p -> err.println(p.format(file)));
            return 1;
        }
        GatewayConfig config = loaded.config();
        out.println(file + ": ok (" + config.routes().size() + " routes, " + config.globalPlugins().size()
                + " global plugins, " + config.consumers().size() + " consumers)");
        return 0;
    }

    /**
     * A validated config file.
     *
     * @param document its content as a JSON tree
     * @param config   the parsed config
     */
    record Loaded(ObjectNode document, GatewayConfig config) {
    }

    /**
     * Reads, parses, validates and test-builds a config file (filters instantiated, no connections made).
     *
     * @return the config, or null with {@code problems} filled
     */
    static Loaded load(String file, List<Problem> problems) {
        return load(file, problems, FilterCatalog.builtins());
    }

    private static Loaded load(String file, List<Problem> problems, FilterCatalog catalog) {
        String text;
        try {
            text = Files.readString(Path.of(file));
        } catch (IOException e) {
            problems.add(new Problem("", 1, "cannot read file: " + e));
            return null;
        }
        SourceTree tree;
        try {
            tree = SourceTree.parse(text);
        } catch (ConfigException e) {
            problems.addAll(e.problems());
            return null;
        }
        try {
            GatewayConfig config = new ConfigParser(catalog).parse(tree);
            ConfigSnapshot.check(config, catalog);
            return new Loaded((ObjectNode) tree.root(), config);
        } catch (ConfigException e) {
            e.problems().forEach(p -> problems.add(p.line() > 0 ? p : tree.problem(p.path(), p.message())));
            return null;
        }
    }

    private static int start(String[] args, PrintStream out, PrintStream err) throws UsageException {
        Map<String, String> opts = options(args, List.of("--config", "--data-dir", "--proxy-port", "--admin-port",
                "--proxy-host", "--admin-host", "--role", "--redis", "--postgres", "--kafka", "--log-format",
                "--access-log", "--access-log-format", "--audit-retention-days", "--audit-max-rows", "--tls-port",
                "--tls-cert", "--tls-key", "--admin-tls-cert", "--admin-tls-key"));
        String role = opts.getOrDefault("--role", "standalone");
        if (!List.of("standalone", "control-plane", "data-plane").contains(role)) {
            throw new UsageException("--role must be standalone, control-plane or data-plane");
        }
        if (opts.containsKey("--kafka")) {
            throw new UsageException("--kafka is not available in this version");
        }
        String logFormat = opts.containsKey("--log-format") ? opts.get("--log-format")
                : Optional.ofNullable(System.getenv("SLUICE_LOG_FORMAT")).orElse("text");
        switch (logFormat) {
            case "json" -> JsonLogFormatter.install();
            case "text" -> {
            }
            default -> throw new UsageException("--log-format (or SLUICE_LOG_FORMAT) must be text or json, got '"
                    + logFormat + "'");
        }
        AccessLog.Format accessFormat = switch (opts.getOrDefault("--access-log-format",
                logFormat.equals("json") ? "json" : "combined")) {
            case "json" -> AccessLog.Format.JSON;
            case "combined" -> AccessLog.Format.COMBINED;
            default -> throw new UsageException("--access-log-format must be combined or json, got '"
                    + opts.get("--access-log-format") + "'");
        };
        String accessTo = opts.getOrDefault("--access-log", "stdout");
        if (accessTo.isEmpty()) {
            throw new UsageException("--access-log must be stdout, off or a file name");
        }
        String redis = opts.get("--redis");
        if (redis != null && !redis.matches("rediss?://[^\\s]+")) {
            throw new UsageException("--redis must be redis://HOST:PORT, got '" + redis + "'");
        }
        AuditLog.Retention retention = new AuditLog.Retention(
                (int) count(opts, "--audit-retention-days", AuditLog.Retention.DEFAULT.days(), 36_500),
                count(opts, "--audit-max-rows", AuditLog.Retention.DEFAULT.maxRows(), Long.MAX_VALUE));
        Path dataDir = Path.of(opts.getOrDefault("--data-dir", ".sluice"));
        Listeners listeners = new Listeners(opts.getOrDefault("--proxy-host", "0.0.0.0"),
                port(opts, "--proxy-port", 8080), opts.getOrDefault("--admin-host", "127.0.0.1"),
                port(opts, "--admin-port", 8081), !role.equals("control-plane"), tlsOptions(opts, role));
        String configFile = opts.get("--config");
        if (configFile != null && role.equals("data-plane")) {
            throw new UsageException("--config is not available on a data plane; import it on the control plane");
        }
        Loaded loaded = null;
        String configStamp = configFile == null ? null : ConfigWatcher.stamp(Path.of(configFile));
        if (configFile != null) {
            List<Problem> problems = new ArrayList<>();
            loaded = load(configFile, problems);
            if (loaded == null) {
                problems.forEach(p -> err.println(p.format(configFile)));
                return 1;
            }
        }
        AccessLog accessLog;
        try {
            accessLog = !listeners.proxy() || accessTo.equals("off") ? AccessLog.OFF
                    : accessTo.equals("stdout") ? AccessLog.stdout(accessFormat)
                    : AccessLog.file(accessFormat, Path.of(accessTo));
        } catch (IOException e) {
            err.println("sluice: cannot open the access log " + accessTo + ": " + e.getMessage());
            return 1;
        }
        Node node;
        try {
            node = Node.start(new Node.Options(role, dataDir, listeners, Optional.ofNullable(opts.get("--postgres")),
                    Optional.ofNullable(redis), Optional.ofNullable(System.getenv("SLUICE_ADMIN_TOKEN")),
                    Duration.ofMillis(Long.getLong("sluice.poll.ms", 5000))).withAudit(retention)
                    .withAccessLog(accessLog));
            if (loaded != null) {
                node.importFile(configFile, loaded.document());
            }
        } catch (Node.StartException e) {
            accessLog.close();
            err.println("sluice: cannot start: " + e.getMessage());
            return 1;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(node::close, "sluice-shutdown"));
        SluiceServer server = node.server();
        out.println("Sluice " + VERSION + " (" + role + ")");
        if (listeners.proxy()) {
            out.println("  proxy:  http://" + listeners.proxyHost() + ":" + server.proxyPort());
        }
        out.println("  admin:  http://" + listeners.adminHost() + ":" + server.adminPort()
                + (role.equals("data-plane") ? "  (/health, /ready)" : "  (/v1 API, /health, /ready, /openapi.yaml)"));
        out.println("  data:   " + dataDir.toAbsolutePath());
        out.println("  store:  " + node.origin());
        if (listeners.proxy()) {
            out.println("  access: " + accessLog + (accessLog.on() ? "" : "  (--access-log stdout|FILE)"));
        }
        node.generatedToken().ifPresent(t -> {
            out.println("  admin token (shown once; also in " + dataDir.resolve("admin-token") + ", mode 0600):");
            out.println("    " + t);
        });
        if (configFile != null) {
            out.println("  file:   " + configFile + " (imported as version " + server.gateway().current().version()
                    + "; re-imported when it changes)");
            ConfigWatcher.start(Path.of(configFile), configStamp, node, err);
        }
        out.flush();
        return -1;
    }

    /** {@code --tls-*} and {@code --admin-tls-*}: files given in pairs, readable, and their PEM valid. */
    private static SluiceServer.TlsOptions tlsOptions(Map<String, String> opts, String role) throws UsageException {
        int tlsPort = opts.containsKey("--tls-port") ? port(opts, "--tls-port", -1) : -1;
        Optional<Path> cert = pemFile(opts, "--tls-cert", "--tls-key");
        Optional<Path> key = pemFile(opts, "--tls-key", "--tls-cert");
        if (cert.isPresent() && tlsPort < 0) {
            throw new UsageException("--tls-cert and --tls-key need --tls-port (the TLS listener they serve)");
        }
        if (tlsPort >= 0 && role.equals("control-plane")) {
            throw new UsageException("--tls-port is for nodes that proxy; a control plane has no proxy listener");
        }
        Optional<Path> adminCert = pemFile(opts, "--admin-tls-cert", "--admin-tls-key");
        Optional<Path> adminKey = pemFile(opts, "--admin-tls-key", "--admin-tls-cert");
        try {
            if (cert.isPresent()) {
                new io.sluice.runtime.tls.ServerCertificates().defaultCertificate(cert.get(), key.get());
            }
            if (adminCert.isPresent()) {
                new io.sluice.runtime.tls.ServerCertificates().defaultCertificate(adminCert.get(), adminKey.get());
            }
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        return new SluiceServer.TlsOptions(tlsPort, cert, key, adminCert, adminKey);
    }

    private static Optional<Path> pemFile(Map<String, String> opts, String name, String pair) throws UsageException {
        String v = opts.get(name);
        if (v == null) {
            if (opts.containsKey(pair)) {
                throw new UsageException(pair + " needs " + name);
            }
            return Optional.empty();
        }
        Path p = Path.of(v);
        if (!Files.isReadable(p)) {
            throw new UsageException(name + ": cannot read " + v);
        }
        return Optional.of(p);
    }

    private static int port(Map<String, String> opts, String name, int dflt) throws UsageException {
        String v = opts.get(name);
        if (v == null) {
            return dflt;
        }
        try {
            int p = Integer.parseInt(v);
            if (p < 0 || p > 65535) {
                throw new NumberFormatException();
            }
            return p;
        } catch (NumberFormatException e) {
            throw new UsageException(name + " must be a port number 0-65535, got '" + v + "'");
        }
    }

    private static long count(Map<String, String> opts, String name, long dflt, long max) throws UsageException {
        String v = opts.get(name);
        if (v == null) {
            return dflt;
        }
        try {
            long n = Long.parseLong(v);
            if (n < 0 || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException(name + " must be a whole number 0-" + max + " (0: no limit), got '" + v + "'");
        }
    }

    private static Map<String, String> options(String[] args, List<String> known) throws UsageException {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            String name = a;
            String value;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            } else {
                if (i + 1 >= args.length) {
                    throw new UsageException(known.contains(a) ? a + " needs a value" : "unknown option '" + a + "'");
                }
                value = args[++i];
            }
            if (!known.contains(name)) {
                throw new UsageException("unknown option '" + name + "'");
            }
            out.put(name, value);
        }
        return out;
    }

    private static void configureLogging() {
        if (System.getProperty("java.util.logging.config.file") != null) {
            return;
        }
        try (InputStream in = Main.class.getResourceAsStream("/sluice-logging.properties")) {
            if (in != null) {
                LogManager.getLogManager().readConfiguration(in);
            }
        } catch (IOException e) {
            // keep the JDK default
        }
    }

    private static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }
}
