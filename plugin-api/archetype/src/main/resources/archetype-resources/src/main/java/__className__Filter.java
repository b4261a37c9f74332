package ${package};

import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Outcome;

import java.util.Optional;

/**
 * One route's ${filterName}: immutable and shared by all its requests (they run concurrently).
 */
final class ${className}Filter implements Filter {
    private final String tag;
    private final Optional<String> requiredHeader;

    ${className}Filter(String tag, Optional<String> requiredHeader) {
        this.tag = tag;
        this.requiredHeader = requiredHeader;
    }

    @Override
    public Outcome onRequest(Exchange exchange) {
        if (requiredHeader.isPresent() && !exchange.request().headers().contains(requiredHeader.get())) {
            // answer here: the upstream is not called (and the filters after this one do not run)
            return Outcome.error(400, "missing_header", requiredHeader.get() + " is required");
        }
        exchange.request().headers().set("X-Tag", tag);
        return Outcome.proceed();
    }

    @Override
    public Outcome onResponse(Exchange exchange) {
        exchange.response().ifPresent(r -> r.headers().set("X-Tag", tag));
        return Outcome.proceed();
    }
}
