package io.sluice.runtime;

import io.sluice.plugin.Filter;

/** What a filter implements of {@link Filter}'s optional methods, so that the gateway skips calls to defaults. */
public final class FilterMethods {
    private FilterMethods() {
    }

    /**
     * @param f      a filter
     * @param method name of a default method of {@link Filter}
     * @param params its parameter types
     * @return whether the filter's class replaces the interface's default (true if unsure)
     */
    public static boolean overrides(Filter f, String method, Class<?>... params) {
        try {
            return f.getClass().getMethod(method, params).getDeclaringClass() != Filter.class;
        } catch (NoSuchMethodException e) {
            return true;
        }
    }
}
