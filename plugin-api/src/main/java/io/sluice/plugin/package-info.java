/**
 * The contract a Sluice filter implements.
 *
 * <p>A {@link io.sluice.plugin.FilterFactory} describes a filter once ({@link io.sluice.plugin.FilterDescriptor}:
 * name, version, JSON schema of its config) and binds a validated config into an immutable, thread-safe
 * {@link io.sluice.plugin.Filter}. The gateway calls {@link io.sluice.plugin.Filter#onRequest} for each
 * request, in chain order, and {@link io.sluice.plugin.Filter#onResponse} in reverse order. Control flow is
 * the returned {@link io.sluice.plugin.Outcome}: proceed, or respond. Nothing here depends on Helidon or
 * GraalVM; test a filter with {@link io.sluice.plugin.testkit}.
 */
package io.sluice.plugin;
