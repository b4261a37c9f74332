package io.sluice.registry.model;

/**
 * One entity's change within a committed version: what it was and what it became, as canonical JSON text.
 *
 * @param kind   the entity's kind
 * @param id     its id ({@value EntityKind#SINGLE} for a singleton)
 * @param before its body before, null when it was added
 * @param after  its body after, null when it was removed
 */
public record EntityChange(EntityKind kind, String id, String before, String after) {
    /**
     * @return {@code added}, {@code removed} or {@code changed}
     */
    public String change() {
        return before == null ? "added" : after == null ? "removed" : "changed";
    }

    /**
     * @return the change that undoes this one
     */
    public EntityChange inverse() {
        return new EntityChange(kind, id, after, before);
    }
}
