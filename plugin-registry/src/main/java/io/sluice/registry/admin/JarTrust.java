package io.sluice.registry.admin;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSigner;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Which plugin jars a {@code developer} may upload. A jar's code runs in the gateway with the gateway's rights (Java
 * cannot be sandboxed in-process), so an unsigned jar needs the {@code platform} role. A developer's jar must be
 * signed (standard JAR signing, as {@code jarsigner} does it) in full by one signer whose certificate the platform
 * listed in the config document's {@code trusted_jar_signers}, by the SHA-256 fingerprint of the certificate
 * ({@code keytool -printcert -jarfile filter.jar} prints it). Pinning the certificate needs no CA; rotating a key
 * is adding the new fingerprint and removing the old one.
 *
 * <p>The check runs before any of the jar's code does: it only reads the archive, with the JDK's own verification
 * ({@link JarFile} in verifying mode, the same reader the plugin class loader uses).
 */
final class JarTrust {
    /** Key of the list in the config document. */
    static final String FIELD = "trusted_jar_signers";

    /**
     * A signer the platform trusts.
     *
     * @param name   who it is (shown in refusals and the audit log)
     * @param sha256 SHA-256 of the signer certificate (DER), lower-case hex without colons
     */
    record Signer(String name, String sha256) {
        /** @return name and fingerprint, for messages */
        String label() {
            return name + " (" + colons(sha256) + ")";
        }
    }

    private JarTrust() {
    }

    /** @return whether the media type is a jar upload */
    static boolean isJar(String contentType) {
        return contentType.equals("application/java-archive") || contentType.equals("application/x-java-archive");
    }

    /**
     * The trusted signers of a config document (validated by the document schema).
     *
     * @param document the current config
     * @return the signers, possibly none
     */
    static List<Signer> trusted(JsonNode document) {
        List<Signer> out = new ArrayList<>();
        document.path(FIELD).forEach(n -> out.add(new Signer(n.path("name").asText(),
                normalize(n.path("sha256").asText()))));
        return out;
    }

    /** {@code AB:CD:…} or {@code abcd…} to {@code abcd…}. */
    static String normalize(String fingerprint) {
        return fingerprint.replace(":", "").toLowerCase(Locale.ROOT);
    }

    /**
     * Admits a developer's jar or refuses it with 403.
     *
     * @param jar     the upload
     * @param trusted the platform's trusted signers
     * @return the signer it was admitted for
     * @throws ApiError 403 {@code jar_not_signed}, {@code jar_partially_signed}, {@code jar_signature_invalid} or
     *                  {@code untrusted_signer}; 400 {@code invalid_filter} when it is not a jar at all
     */
    static Signer admit(byte[] jar, List<Signer> trusted) {
        Path tmp = null;
        try {
            tmp = Files.createTempFile("sluice-signed", ".jar");
            Files.write(tmp, jar);
            return admit(tmp, trusted);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a temporary file to verify the jar", e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException e) {
                    // a temporary file; nothing else to do
                }
            }
        }
    }

    private static Signer admit(Path file, List<Signer> trusted) {
        // certificate fingerprint -> certificate, of the signers that signed every entry read so far
        Map<String, X509Certificate> common = null;
        List<String> unsigned = new ArrayList<>();
        int signed = 0;
        try (JarFile jar = new JarFile(file.toFile(), true)) {
            for (Enumeration<JarEntry> en = jar.entries(); en.hasMoreElements(); ) {
                JarEntry e = en.nextElement();
                if (e.isDirectory() || isSignatureFile(e.getName())) {
                    continue;
                }
                try (InputStream in = jar.getInputStream(e)) {
                    in.transferTo(OutputStream.nullOutputStream());   // code signers are known once read to the end
                }
                CodeSigner[] signers = e.getCodeSigners();
                if (signers == null || signers.length == 0) {
                    unsigned.add(e.getName());
                    continue;
                }
                signed++;
                Map<String, X509Certificate> these = new LinkedHashMap<>();
                for (CodeSigner s : signers) {
                    List<? extends Certificate> chain = s.getSignerCertPath().getCertificates();
                    if (!chain.isEmpty() && chain.getFirst() instanceof X509Certificate c) {
                        these.put(fingerprint(c), c);
                    }
                }
                if (common == null) {
                    common = these;
                } else {
                    common.keySet().retainAll(these.keySet());
                }
            }
        } catch (SecurityException e) {
            throw refused("jar_signature_invalid", "the jar's signature does not verify (" + e.getMessage()
                    + "); was it changed after it was signed?");
        } catch (IOException e) {
            throw new ApiError(400, "invalid_filter", "the filter does not load: not a jar (zip) file: "
                    + e.getMessage());
        }
        if (signed == 0) {
            throw refused("jar_not_signed", "a developer may upload a jar only when it is signed by a key listed in"
                    + " trusted_jar_signers (a platform token may upload unsigned jars); this jar is not signed");
        }
        if (!unsigned.isEmpty()) {
            throw refused("jar_partially_signed", "every entry of a developer's jar must be signed, but "
                    + unsigned.getFirst() + (unsigned.size() > 1 ? " and " + (unsigned.size() - 1) + " more" : "")
                    + " is not; sign the finished jar and add nothing after signing");
        }
        if (common.isEmpty()) {
            throw refused("untrusted_signer", "no one signer signed every entry of the jar; sign it with one key");
        }
        for (Signer t : trusted) {
            if (common.containsKey(t.sha256())) {
                return t;
            }
        }
        Map.Entry<String, X509Certificate> first = common.entrySet().iterator().next();
        throw refused("untrusted_signer", "the jar is signed by " + first.getValue().getSubjectX500Principal()
                + " (certificate SHA-256 " + colons(first.getKey()) + "), which is not in trusted_jar_signers"
                + (trusted.isEmpty() ? " (none are configured)" : "")
                + "; a platform engineer may add it to the config document");
    }

    /** The files jar signing itself adds (the manifest's main attributes are covered by the signature file). */
    static boolean isSignatureFile(String name) {
        String upper = name.toUpperCase(Locale.ROOT);
        if (!upper.startsWith("META-INF/") || upper.indexOf('/', "META-INF/".length()) >= 0) {
            return false;
        }
        String file = upper.substring("META-INF/".length());
        return file.equals("MANIFEST.MF") || file.endsWith(".SF") || file.endsWith(".RSA") || file.endsWith(".DSA")
                || file.endsWith(".EC") || file.startsWith("SIG-");
    }

    static String fingerprint(X509Certificate c) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String colons(String hex) {
        return HexFormat.ofDelimiter(":").withUpperCase().formatHex(HexFormat.of().parseHex(hex));
    }

    private static ApiError refused(String code, String message) {
        return new ApiError(403, code, message);
    }
}
