package io.sluice.runtime.testing;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * Signs test jars the way a plugin author would: a key made with the JDK's {@code keytool}, the jar signed with its
 * {@code jarsigner}. Keys live in the test's temporary directory.
 *
 * @param keystore the PKCS12 key store
 * @param alias    the key's alias
 * @param sha256   SHA-256 of the signer certificate, upper-case hex with colons (as keytool prints it)
 */
public record JarSigning(Path keystore, String alias, String sha256) {
    private static final String PASSWORD = "changeit";

    /**
     * Makes a key pair with a self-signed certificate.
     *
     * @param dir   where the key store goes
     * @param alias its alias (also the certificate's CN)
     * @return the signer
     */
    public static JarSigning key(Path dir, String alias) {
        Path ks = dir.resolve(alias + ".p12");
        run("keytool", "-genkeypair", "-keystore", ks.toString(), "-storetype", "PKCS12", "-storepass", PASSWORD,
                "-keypass", PASSWORD, "-alias", alias, "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=" + alias + ", O=Sluice tests", "-validity", "30");
        try (InputStream in = Files.newInputStream(ks)) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, PASSWORD.toCharArray());
            byte[] der = store.getCertificate(alias).getEncoded();
            String hex = HexFormat.ofDelimiter(":").withUpperCase()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(der));
            return new JarSigning(ks, alias, hex);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Signs a jar with {@code jarsigner}.
     *
     * @param jar the unsigned jar
     * @return the signed jar
     */
    public byte[] sign(byte[] jar) {
        try {
            Path dir = Files.createTempDirectory("sign");
            Path in = dir.resolve("in.jar");
            Path out = dir.resolve("out.jar");
            Files.write(in, jar);
            run("jarsigner", "-keystore", keystore.toString(), "-storetype", "PKCS12", "-storepass", PASSWORD,
                    "-signedjar", out.toString(), in.toString(), alias);
            return Files.readAllBytes(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @return {@code keytool -printcert -jarfile} of a jar: what a platform engineer reads the fingerprint from */
    public static String printCert(byte[] jar) {
        try {
            Path f = Files.createTempFile("printcert", ".jar");
            Files.write(f, jar);
            return run("keytool", "-printcert", "-jarfile", f.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Rewrites a jar's entries (same order and names), e.g. to tamper with a signed one.
     *
     * @param jar     the jar
     * @param changes entry name to a function of its bytes (returning null drops the entry)
     * @param added   entries appended at the end
     * @return the new jar
     */
    public static byte[] rewrite(byte[] jar, Map<String, UnaryOperator<byte[]>> changes, Map<String, byte[]> added) {
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(jar))) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ZipOutputStream out = new ZipOutputStream(bytes)) {
                for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                    byte[] content = changes.getOrDefault(e.getName(), UnaryOperator.identity()).apply(in.readAllBytes());
                    if (content != null) {
                        out.putNextEntry(new ZipEntry(e.getName()));
                        out.write(content);
                        out.closeEntry();
                    }
                }
                for (Map.Entry<String, byte[]> a : added.entrySet()) {
                    out.putNextEntry(new ZipEntry(a.getKey()));
                    out.write(a.getValue());
                    out.closeEntry();
                }
            }
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @return the bytes of one entry of a jar */
    public static byte[] entry(byte[] jar, String name) {
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(jar))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                if (e.getName().equals(name)) {
                    return in.readAllBytes();
                }
            }
            throw new IllegalArgumentException("no entry " + name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String run(String tool, String... args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", tool).toString());
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed:\n" + out);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
