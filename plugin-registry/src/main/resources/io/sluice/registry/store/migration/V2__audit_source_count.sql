-- Refusals of unauthenticated callers are folded: one row per source address and minute, with how many
-- requests it stands for. Plain types and one statement per change, as H2 (PostgreSQL mode) and PostgreSQL
-- both read them.
ALTER TABLE audit_log ADD COLUMN source VARCHAR(64);
ALTER TABLE audit_log ADD COLUMN count BIGINT NOT NULL DEFAULT 1;

-- Retention deletes by age.
CREATE INDEX audit_log_at ON audit_log (at);
