-- Ledger of approval instances (PostgreSQL).
--
-- Keep this file in step with ../sqlite/0001_create_ledger.sql: both databases are
-- queried by the same statements, so table names, column names and meanings must
-- match. Times are UTC milliseconds since the Unix epoch. Amounts are decimal text,
-- so they are stored exactly. Integers are BIGINT because the shared query layer
-- reads every integer as 64 bits.

-- One row per DingTalk approval instance.
CREATE TABLE ledger_instances (
    process_instance_id TEXT   NOT NULL PRIMARY KEY,
    process_code        TEXT,
    business_id         TEXT,
    title               TEXT,
    originator_userid   TEXT,
    total_amount        TEXT,
    instance_created_at BIGINT,
    status              TEXT   NOT NULL,
    skip_reason         TEXT,
    bill_no             TEXT,
    k3_id               TEXT,
    attempts            BIGINT NOT NULL DEFAULT 0,
    last_error_kind     TEXT,
    last_error          TEXT,
    lease_owner         TEXT,
    lease_until         BIGINT,
    replay_count        BIGINT NOT NULL DEFAULT 0,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    published_at        BIGINT,
    saved_at            BIGINT,

    CONSTRAINT ledger_instances_status_known CHECK (
        status IN ('pending', 'skipped', 'published', 'saving', 'saved', 'rejected', 'dead')
    ),
    -- A saved instance always names its bill.
    CONSTRAINT ledger_instances_saved_has_bill CHECK (
        status <> 'saved' OR (bill_no IS NOT NULL AND k3_id IS NOT NULL)
    ),
    -- A lease exists exactly while a consumer is saving.
    CONSTRAINT ledger_instances_lease_while_saving CHECK (
        (status = 'saving' AND lease_owner IS NOT NULL AND lease_until IS NOT NULL)
        OR (status <> 'saving' AND lease_owner IS NULL AND lease_until IS NULL)
    )
);

-- The producer reads pending instances per process code.
CREATE INDEX ledger_instances_code_status ON ledger_instances (process_code, status);
-- Status counts and the list of recent failures.
CREATE INDEX ledger_instances_status_updated ON ledger_instances (status, updated_at);
-- Operators look instances up by approval number.
CREATE INDEX ledger_instances_business_id ON ledger_instances (business_id);

-- Audit trail: every status change and claim.
CREATE TABLE ledger_events (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    process_instance_id TEXT   NOT NULL,
    occurred_at         BIGINT NOT NULL,
    actor               TEXT   NOT NULL,
    action              TEXT   NOT NULL,
    status              TEXT   NOT NULL,
    detail              TEXT   NOT NULL
);

CREATE INDEX ledger_events_instance ON ledger_events (process_instance_id, id);

-- The producer's watermark per process code: the end of the last poll window whose
-- publishes were all confirmed.
CREATE TABLE ledger_watermarks (
    process_code TEXT   NOT NULL PRIMARY KEY,
    watermark    BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
