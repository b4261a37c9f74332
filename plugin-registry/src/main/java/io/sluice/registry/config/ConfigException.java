package io.sluice.registry.config;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A config that cannot be applied, with every problem found (not just the first).
 */
public final class ConfigException extends Exception {
    private final transient List<Problem> problems;

    /**
     * @param problems at least one problem
     */
    public ConfigException(List<Problem> problems) {
        super(problems.stream().map(p -> (p.path().isEmpty() ? "" : p.path() + ": ") + p.message())
                .collect(Collectors.joining("; ")));
        this.problems = List.copyOf(problems);
    }

    /**
     * @return the problems, in document order
     */
    public List<Problem> problems() {
        return problems;
    }
}
