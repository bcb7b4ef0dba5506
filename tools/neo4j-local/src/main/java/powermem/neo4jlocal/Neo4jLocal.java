package powermem.neo4jlocal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.config.Setting;
import org.neo4j.io.ByteUnit;
import org.neo4j.logging.Level;
import org.neo4j.logging.log4j.Log4jLogProvider;

/**
 * Runs a Neo4j Community DBMS in this JVM and exposes it over Bolt (and HTTP),
 * so tests talk to a real server through the ordinary drivers without a
 * Neo4j distribution or Docker. Started and stopped by scripts/neo4j-local.
 *
 * <p>Usage: {@code Neo4jLocal HOME BOLT_PORT HTTP_PORT READY_FILE}; HTTP_PORT 0
 * turns HTTP off. Environment: NEO4J_PASSWORD (password of user neo4j),
 * NEO4J_LOCAL_PAGECACHE (e.g. 256m), NEO4J_LOCAL_CONF (a neo4j.conf-style file of extra
 * settings, for benchmarks that tune the server; the settings made here override it),
 * NEO4J_LOCAL_VECTOR_MERGE_FACTOR (default 4; 0 keeps Neo4j's own, 50: see vectorMergeSettings).
 */
public final class Neo4jLocal {
    private static final String DEFAULT_PASSWORD = "powermem-test-pw";

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: Neo4jLocal HOME BOLT_PORT HTTP_PORT READY_FILE");
            System.exit(64);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int boltPort = Integer.parseInt(args[1]);
        int httpPort = Integer.parseInt(args[2]);
        Path readyFile = Path.of(args[3]).toAbsolutePath();
        String password = System.getenv().getOrDefault("NEO4J_PASSWORD", DEFAULT_PASSWORD);
        long pageCache = ByteUnit.parse(System.getenv().getOrDefault("NEO4J_LOCAL_PAGECACHE", "256m"));

        indexFilesOnDisk();
        // Removed first so the script never mistakes a previous run's file for readiness.
        Files.deleteIfExists(readyFile);

        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home);
        String extraConf = System.getenv().getOrDefault("NEO4J_LOCAL_CONF", "");
        if (!extraConf.isEmpty()) {
            builder.loadPropertiesFromFile(Path.of(extraConf));
        }
        DatabaseManagementService dbms = builder
                // Loopback only: this is a test instance with a well-known password.
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", boltPort))
                // Advertised addresses feed HTTP discovery, which Neo4j Browser follows to find Bolt.
                .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", boltPort))
                // Keep-alive NOOPs only while streaming results. With ALL (the default) the server
                // asks drivers for a receive timeout, and the Python async driver then wraps every
                // socket read in a task and a timer: twice the client CPU per query (docs/neo4j.md).
                .setConfig(BoltConnector.connection_keep_alive_type, BoltConnector.KeepAliveRequestType.STREAMING)
                .setConfig(HttpConnector.enabled, httpPort > 0)
                .setConfig(HttpConnector.listen_address, new SocketAddress("127.0.0.1", Math.max(httpPort, 1)))
                .setConfig(HttpConnector.advertised_address, new SocketAddress("127.0.0.1", Math.max(httpPort, 1)))
                // Embedded mode defaults to no auth; a server-like instance should check credentials.
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                // Small defaults: tests run beside this JVM on a 2-core machine.
                .setConfig(GraphDatabaseSettings.pagecache_memory, pageCache)
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "2 files")
                // No network here, and no reason to phone home from a test instance anyway.
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                .setConfig(versionSpecificSettings())
                .setConfig(vectorMergeSettings(System.getenv().getOrDefault("NEO4J_LOCAL_VECTOR_MERGE_FACTOR", "4")))
                // Neo4j's user-facing log ("Bolt enabled on ...") goes to stdout, which the script
                // sends to neo4j.log; the detailed debug.log stays under HOME/logs.
                .setUserLogProvider(new Log4jLogProvider(System.out, Level.INFO))
                .build();
        // SIGTERM from `neo4j-local stop` runs this: a clean shutdown flushes the page cache and
        // checkpoints, so the next start needs no recovery.
        Runtime.getRuntime().addShutdownHook(new Thread(dbms::shutdown, "neo4j-local-shutdown"));

        setPassword(dbms, password);

        String version = DatabaseManagementServiceBuilder.class.getPackage().getImplementationVersion();
        Files.writeString(readyFile, "version=" + version + "\n");
        System.out.printf("neo4j-local: Neo4j %s ready, bolt://127.0.0.1:%d%s%n", version, boltPort,
                httpPort > 0 ? ", http://127.0.0.1:" + httpPort : "");

        // The DBMS runs on its own threads; park main until the JVM is told to exit.
        new CountDownLatch(1).await();
    }

    /**
     * The built-in user neo4j starts with password "neo4j" that must be changed on first login;
     * setting it here, on every start so that a new NEO4J_PASSWORD takes effect, gives drivers a
     * usable account straight away. Embedded transactions run without auth, so the system
     * database accepts this administration command.
     */
    private static void setPassword(DatabaseManagementService dbms, String password) {
        try {
            dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
        } catch (RuntimeException e) {
            // Neo4j refuses to "change" a password to its current value: then it is already right.
            if (!String.valueOf(e.getMessage()).contains("cannot be the same")) {
                System.err.println("neo4j-local: could not set the password of user neo4j: " + e.getMessage());
                System.exit(1); // the shutdown hook closes the DBMS
            }
        }
    }

    /**
     * Neo4j wraps each Lucene index directory in an NRTCachingDirectory that keeps new segments
     * of up to 5 MB in heap buffers, and Lucene reads vectors from those one float at a time:
     * after 5,000 memories written to a tenant of 100,000, the vector index query took 33 ms
     * p50 instead of 7-8 until the server restarted (docs/neo4j.md). With no segment small
     * enough to cache, every segment is read from its file. A feature toggle of Neo4j's, read
     * once when the class loads: set here unless NEO4J_LOCAL_JAVA_OPTS sets it.
     */
    private static void indexFilesOnDisk() {
        String toggle = "org.neo4j.kernel.api.impl.index.storage.DirectoryFactory.max_merge_size_mb";
        if (System.getProperty(toggle) == null) {
            System.setProperty(toggle, "0");
        }
    }

    /**
     * A vector index written in transactions flushes a Lucene segment per 16 MB of buffered
     * vectors (about 5,000 of 384 dimensions) and, by default, merges them only 50 at a time. A
     * query searches each segment's HNSW graph in turn, so at 100,000 memories it walks 20
     * graphs: with a merge factor of 4 (6 segments) the unquantized index query took 3.7
     * instead of 6.5 ms p50, for about 20% slower bulk writes; its larger HNSW graphs found 0.81
     * of the true 50 nearest where 20 segments found about 0.89 (docs/neo4j.md). Internal
     * setting of 5.26; left alone where a server does not have it.
     */
    private static Map<Setting<?>, Object> vectorMergeSettings(String factor) {
        Map<Setting<?>, Object> settings = new HashMap<>();
        int value = Integer.parseInt(factor.trim());
        if (value <= 0) {
            return settings;
        }
        try {
            Class<?> lucene = Class.forName("org.neo4j.kernel.api.impl.index.LuceneSettings");
            settings.put((Setting<?>) lucene.getField("vector_standard_merge_factor").get(null), value);
        } catch (ClassNotFoundException | NoSuchFieldException absent) {
            // a server without this setting keeps its own merge policy
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
        return settings;
    }

    /**
     * Settings whose name or type differs between 5.26 and 2025.x+, so that one source compiles
     * against both.
     */
    private static Map<Setting<?>, Object> versionSpecificSettings() {
        Map<Setting<?>, Object> settings = new HashMap<>();
        // Bolt's Netty event loops wait a 5 s quiet period per loop group on shutdown, which made
        // every stop take ~10 s. Internal setting: Integer seconds in 5.26, a Duration later.
        Setting<?> quiet = GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period;
        settings.put(quiet, quiet.defaultValue() instanceof Duration ? Duration.ZERO : (Object) 0);
        // 2025.x+ announces itself by UDP broadcast ("fleet discovery", on by default); a test
        // instance has nothing to announce.
        try {
            settings.put((Setting<?>) BoltConnector.class.getField("enable_discovery").get(null), false);
        } catch (NoSuchFieldException absentIn526) {
            // nothing to turn off
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
        return settings;
    }
}
