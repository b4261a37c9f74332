package io.sluice.runtime.tls;

import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.sluice.runtime.observe.Telemetry;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code sluice_tls_certificate_expiry_seconds{certificate}}: when each served certificate's leaf expires (Unix
 * time), for an alert such as {@code sluice_tls_certificate_expiry_seconds - time() < 14 * 86400}. Refreshed on
 * every scrape.
 */
public final class CertificateMetrics {
    private static final MultiGauge EXPIRY = MultiGauge.builder("sluice.tls.certificate.expiry")
            .description("when the TLS certificate's leaf expires (Unix time); 'default' is --tls-cert")
            .baseUnit("seconds")
            .register(Telemetry.registry());

    private CertificateMetrics() {
    }

    /**
     * @param certificates the TLS listener's certificates
     */
    public static void refresh(ServerCertificates certificates) {
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        certificates.expiries().forEach((id, notAfter) ->
                rows.add(MultiGauge.Row.of(Tags.of("certificate", id), notAfter.getEpochSecond())));
        EXPIRY.register(rows, true);
    }
}
