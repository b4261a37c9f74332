package io.sluice.registry.config;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEM read with the JDK alone: certificates ({@code BEGIN CERTIFICATE}), and private keys as PKCS#8
 * ({@code BEGIN PRIVATE KEY}), PKCS#1 ({@code BEGIN RSA PRIVATE KEY}) or SEC1 ({@code BEGIN EC PRIVATE KEY});
 * encrypted keys are refused. One reader for the registry's validation and the runtime's TLS (upstream TLS, the
 * TLS listener's certificates), so what is accepted on write is what is served.
 */
public final class Pem {
    private static final Pattern BLOCK =
            Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);
    private static final Pattern WHITESPACE = Pattern.compile("\\s+");
    // DER: OID rsaEncryption + NULL parameters, and OID id-ecPublicKey
    private static final byte[] RSA_ALGORITHM = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86,
            (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
    private static final byte[] EC_PUBLIC_KEY_OID = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02,
            0x01};

    private Pem() {
    }


    private record Block(String type, byte[] der) {
    }

    private static List<Block> pem(String what, String text) {
        List<Block> blocks = new ArrayList<>();
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            String type = m.group(1);
            String body = m.group(2);
            if (body.indexOf(':') >= 0) {
                throw new IllegalArgumentException(what + ": the " + type
                        + " block has PEM headers (an encrypted key?); only unencrypted PEM is supported");
            }
            byte[] der;
            try {
                der = Base64.getDecoder().decode(WHITESPACE.matcher(body).replaceAll(""));
            } catch (IllegalArgumentException e) {
                der = new byte[0];
            }
            if (der.length == 0) {
                throw new IllegalArgumentException(what + ": the " + type
                        + " block is empty or not valid base64");
            }
            blocks.add(new Block(type, der));
        }
        if (blocks.isEmpty()) {
            throw new IllegalArgumentException(what + " is not PEM (expected -----BEGIN "
                    + (what.endsWith("key") ? "PRIVATE KEY" : "CERTIFICATE") + "----- ... -----END ...-----)");
        }
        return blocks;
    }

    /**
     * @param what label for messages ({@code upstream TLS ca})
     * @param text PEM, one or more {@code CERTIFICATE} blocks
     * @return the certificates, in order
     * @throws IllegalArgumentException naming {@code what} and the problem
     */
    public static List<X509Certificate> certificates(String what, String text) {
        List<X509Certificate> certs = new ArrayList<>();
        CertificateFactory cf;
        try {
            cf = CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException(e);
        }
        for (Block p : pem(what, text)) {
            if (!p.type().equals("CERTIFICATE")) {
                throw new IllegalArgumentException(what + ": unexpected PEM block '" + p.type()
                        + "' (expected CERTIFICATE)");
            }
            try {
                certs.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(p.der())));
            } catch (CertificateException e) {
                throw new IllegalArgumentException(what + ": certificate #" + (certs.size() + 1)
                        + " is not a valid X.509 certificate: " + e.getMessage(), e);
            }
        }
        return certs;
    }

    /**
     * @param what     label for messages ({@code upstream TLS client key})
     * @param text     PEM: PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted
     * @param certWhat what the certificate is called in messages ({@code client certificate})
     * @param certKey  the public key of the certificate the key must match
     * @return the key
     * @throws IllegalArgumentException unreadable, encrypted, or not matching the certificate
     */
    public static PrivateKey privateKey(String what, String text, String certWhat, PublicKey certKey) {
        byte[] pkcs8 = null;
        for (Block p : pem(what, text)) {
            byte[] encoded = switch (p.type()) {
                case "PRIVATE KEY" -> p.der();
                case "RSA PRIVATE KEY" -> der(0x30, new byte[] {0x02, 0x01, 0x00}, RSA_ALGORITHM, der(0x04, p.der()));
                case "EC PRIVATE KEY" -> der(0x30, new byte[] {0x02, 0x01, 0x00},
                        der(0x30, EC_PUBLIC_KEY_OID, sec1Curve(what, p.der(), certKey)), der(0x04, p.der()));
                case "EC PARAMETERS" -> null;   // openssl ecparam -genkey writes it before the key
                case "ENCRYPTED PRIVATE KEY" -> throw new IllegalArgumentException(
                        what + " is encrypted; give it unencrypted (openssl pkcs8 -nocrypt)");
                default -> throw new IllegalArgumentException(what + ": unexpected PEM block '"
                        + p.type() + "' (expected PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)");
            };
            if (encoded != null) {
                if (pkcs8 != null) {
                    throw new IllegalArgumentException(what + " has more than one private key");
                }
                pkcs8 = encoded;
            }
        }
        if (pkcs8 == null) {
            throw new IllegalArgumentException(what + " has no private key block");
        }
        Set<String> algorithms = new LinkedHashSet<>();
        algorithms.add(certKey.getAlgorithm());
        algorithms.addAll(List.of("RSA", "EC", "EdDSA", "RSASSA-PSS", "DSA"));
        PrivateKey key = null;
        for (String algorithm : algorithms) {
            try {
                key = KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
                break;
            } catch (GeneralSecurityException | RuntimeException e) {
                // try the next algorithm
            }
        }
        if (key == null) {
            throw new IllegalArgumentException(what + " is not a readable private key");
        }
        if (!matches(key, certKey)) {
            throw new IllegalArgumentException(what + " does not match the " + certWhat);
        }
        return key;
    }

    /** Whether the key signs what the certificate's public key verifies (unknown algorithms pass). */
    private static boolean matches(PrivateKey key, PublicKey certKey) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "EdDSA", "Ed25519", "Ed448" -> "EdDSA";
            default -> null;
        };
        if (algorithm == null) {
            return true;
        }
        try {
            byte[] probe = "sluice".getBytes(StandardCharsets.US_ASCII);
            Signature s = Signature.getInstance(algorithm);
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(algorithm);
            v.initVerify(certKey);
            v.update(probe);
            return v.verify(sig);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    /**
     * The named-curve OID (its whole TLV) from a SEC1 ECPrivateKey's {@code [0] parameters}, or when it has none
     * (they are optional) the curve of the certificate's key.
     */
    private static byte[] sec1Curve(String what, byte[] sec1, PublicKey certKey) {
        try {
            int[] seq = tlv(sec1, 0);
            if (sec1[0] != 0x30) {
                throw new IllegalArgumentException();
            }
            int at = seq[0];
            while (at < seq[1]) {
                int[] field = tlv(sec1, at);
                if ((sec1[at] & 0xff) == 0xa0) {
                    if (sec1[field[0]] != 0x06) {
                        break;   // explicit curve parameters: not supported
                    }
                    int[] oid = tlv(sec1, field[0]);
                    return java.util.Arrays.copyOfRange(sec1, field[0], oid[1]);
                }
                at = field[1];
            }
        } catch (IllegalArgumentException | ArrayIndexOutOfBoundsException e) {
            throw new IllegalArgumentException(what + ": the EC PRIVATE KEY block is malformed", e);
        }
        if (certKey instanceof ECPublicKey ec) {
            try {
                AlgorithmParameters curve = AlgorithmParameters.getInstance("EC");
                curve.init(ec.getParams());
                byte[] oid = curve.getEncoded();
                if (oid.length > 0 && oid[0] == 0x06) {
                    return oid;
                }
            } catch (GeneralSecurityException | java.io.IOException e) {
                // fall through
            }
        }
        throw new IllegalArgumentException(what + ": the EC PRIVATE KEY has no named curve; "
                + "convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)");
    }

    /** A DER TLV at {@code at}: {start of content, end of content}. */
    private static int[] tlv(byte[] b, int at) {
        int i = at + 1;
        int len = b[i++] & 0xff;
        if (len > 0x7f) {
            int n = len & 0x7f;
            if (n == 0 || n > 3) {
                throw new IllegalArgumentException("bad DER length");
            }
            len = 0;
            for (int k = 0; k < n; k++) {
                len = (len << 8) | (b[i++] & 0xff);
            }
        }
        if (i + len > b.length) {
            throw new IllegalArgumentException("truncated DER");
        }
        return new int[] {i, i + len};
    }

    private static byte[] der(int tag, byte[]... parts) {
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            content.writeBytes(p);
        }
        int len = content.size();
        ByteArrayOutputStream out = new ByteArrayOutputStream(len + 6);
        out.write(tag);
        if (len < 0x80) {
            out.write(len);
        } else if (len < 0x100) {
            out.write(0x81);
            out.write(len);
        } else if (len < 0x10000) {
            out.write(0x82);
            out.write(len >> 8);
            out.write(len);
        } else {
            out.write(0x83);
            out.write(len >> 16);
            out.write(len >> 8);
            out.write(len);
        }
        out.writeBytes(content.toByteArray());
        return out.toByteArray();
    }

}
