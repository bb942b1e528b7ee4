-- Write-back of the K3Cloud bill number to the DingTalk approval as a comment (SQLite).
--
-- Keep this file in step with ../postgres/0002_add_write_back.sql. The status is NULL
-- while no write-back was requested, then 'pending', 'done', 'failed' (to be retried)
-- or 'abandoned' (attempts used up). write_back_at is the time of the request or of the
-- last attempt, in UTC milliseconds; retries wait a configured interval after it.

ALTER TABLE ledger_instances ADD COLUMN write_back_status TEXT
    CONSTRAINT ledger_instances_write_back_status_known CHECK (
        write_back_status IN ('pending', 'done', 'failed', 'abandoned')
    );
ALTER TABLE ledger_instances ADD COLUMN write_back_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger_instances ADD COLUMN write_back_error TEXT;
ALTER TABLE ledger_instances ADD COLUMN write_back_at INTEGER;

-- The retry sweep reads pending and failed write-backs by time.
CREATE INDEX ledger_instances_write_back ON ledger_instances (write_back_status, write_back_at);
