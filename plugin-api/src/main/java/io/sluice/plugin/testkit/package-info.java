/**
 * Test a filter without a gateway: build a {@link io.sluice.plugin.testkit.TestExchange}, call the filter,
 * assert on the returned {@link io.sluice.plugin.Outcome} and on the exchange.
 */
package io.sluice.plugin.testkit;
