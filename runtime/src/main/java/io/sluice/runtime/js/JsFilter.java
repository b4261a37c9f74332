package io.sluice.runtime.js;

import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.js.JsModules;
import io.sluice.runtime.Preparable;
import org.graalvm.polyglot.PolyglotException;


/**
 * A JavaScript filter bound to one route's plugin entry. Each phase runs in the sandbox under the entry's budgets.
 * Its contexts are made by {@link #prepare} before the snapshot holding it serves.
 */
final class JsFilter implements Filter, Preparable {
    /**
     * What identifies a binding's contexts: equal bindings in the next config snapshot reuse them; different
     * routes, entries, configs or versions never share one.
     */
    record Binding(String script, String confJson, JsLimits limits, String where) {
    }

    private final JsSandbox sandbox;
    private final JsScript script;
    private final String confJson;
    private final JsLimits limits;
    private final Binding binding;
    /** Completed calls of each phase, counted up to a little past the cold limit (racy: an estimate is enough). */
    private volatile int requestCalls;
    private volatile int responseCalls;
    /** Until when (System.nanoTime) this filter runs on the sandbox's workers only, after slow calls on a carrier. */
    private volatile long inlineBarredUntil = System.nanoTime();
    /** Slow calls in a row on request threads (racy: a lost update delays a bar by one call at most). */
    private volatile int slowStreak;

    JsFilter(JsSandbox sandbox, JsScript script, String confJson, JsLimits limits, String where) {
        this.sandbox = sandbox;
        this.script = script;
        this.confJson = confJson;
        this.limits = limits;
        this.binding = new Binding(script.key() + "#" + script.sha256(), confJson, limits, where);
    }

    JsScript script() {
        return script;
    }

    String confJson() {
        return confJson;
    }

    JsLimits limits() {
        return limits;
    }

    Binding binding() {
        return binding;
    }

    /** Counts a completed call of a phase. */
    void called(boolean request) {
        if (request) {
            if (requestCalls < 1_000) {
                requestCalls++;
            }
        } else if (responseCalls < 1_000) {
            responseCalls++;
        }
    }

    /** @return whether the phase completed at least {@code calls} calls (in any context) */
    boolean warm(boolean request, int calls) {
        return (request ? requestCalls : responseCalls) >= calls;
    }

    boolean inlineBarred(long now) {
        return inlineBarredUntil - now > 0;
    }

    void barInline(long until) {
        inlineBarredUntil = until;
    }

    /**
     * Records a call on a request thread. One slow call is not the filter's fault as a rule: the OS or a GC pause
     * may stop a carrier in the middle of a fast call (on a loaded core, every few hundred calls); {@code streak}
     * slow calls in a row are.
     *
     * @param slow   whether it took longer than allowed
     * @param streak slow calls in a row that bar the filter
     * @return whether the filter is to be barred now
     */
    boolean calledOnCarrier(boolean slow, int streak) {
        if (!slow) {
            if (slowStreak != 0) {
                slowStreak = 0;
            }
            return false;
        }
        int n = slowStreak + 1;
        slowStreak = n >= streak ? 0 : n;
        return n >= streak;
    }

    @Override
    public void prepare() {
        try {
            sandbox.prepare(this);
        } catch (RuntimeException e) {   // it serves all the same: its worker makes what is missing on first use
            System.getLogger(JsFilter.class.getName()).log(System.Logger.Level.WARNING,
                    "preparing " + script.key() + " failed: " + e);
        }
    }

    @Override
    public Outcome onRequest(Exchange exchange) {
        return JsModules.outcome(run(true, exchange));
    }

    @Override
    public Outcome onResponse(Exchange exchange) {
        return script.hasOnResponse() ? JsModules.outcome(run(false, exchange)) : Outcome.proceed();
    }

    @Override
    public boolean needsRequestBody() {
        return script.readsRequestBody();
    }

    @Override
    public boolean needsResponseBody() {
        return script.readsResponseBody();
    }

    private Object[] run(boolean request, Exchange exchange) {
        try {
            return sandbox.invoke(this, request, exchange);
        } catch (PolyglotException e) {
            throw new ScriptFailure(script.key(), e);
        }
    }


    /** A script threw: message and location for the log. */
    static final class ScriptFailure extends RuntimeException {
        ScriptFailure(String key, PolyglotException e) {
            super(key + ": " + e.getMessage() + (e.getSourceLocation() == null ? ""
                    : " (line " + e.getSourceLocation().getStartLine() + ")"), null, false, false);
        }
    }
}
