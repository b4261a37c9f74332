-- The config as entities (issue 15): the current state is one row per entity, and every committed version
-- holds its change set (kind, id, before, after) instead of a copy of the whole document. V4 moves the
-- documents of earlier versions over and drops config_version.content.

-- The current config: one row per route, consumer, API key, global plugin list, settings, ...
-- body is the entity's canonical JSON; version is the config version that last wrote it.
CREATE TABLE config_entity (
    kind     VARCHAR(40) NOT NULL,
    id       VARCHAR(300) NOT NULL,
    body     TEXT NOT NULL,
    version  BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);

-- Each version's change set, in order. before_body is null for an addition, after_body null for a removal.
CREATE TABLE config_change (
    version      BIGINT NOT NULL,
    seq          INT NOT NULL,
    kind         VARCHAR(40) NOT NULL,
    id           VARCHAR(300) NOT NULL,
    before_body  TEXT,
    after_body   TEXT,
    PRIMARY KEY (version, seq)
);

ALTER TABLE config_version ADD COLUMN changes INT NOT NULL DEFAULT 0;
