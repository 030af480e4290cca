-- The factlog append workload as a PostgreSQL event store: an events
-- table with a global position and a unique (claim_id, version), the
-- request id unique (factlog's idempotency), and one projection row per
-- claim with the secondary indexes factlog keeps (status, subject,
-- claimant), updated in the same transaction as the event.
CREATE TABLE claims (
  claim_id   text PRIMARY KEY,
  version    bigint NOT NULL,
  status     text NOT NULL,
  subject    text NOT NULL,
  claimant   text NOT NULL,
  evidence   integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL
);
CREATE INDEX claims_by_status ON claims (status, claim_id);
CREATE INDEX claims_by_subject ON claims (subject, claim_id);
CREATE INDEX claims_by_claimant ON claims (claimant, claim_id);

CREATE TABLE events (
  position    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  claim_id    text NOT NULL,
  version     bigint NOT NULL,
  type        text NOT NULL,
  request_id  text UNIQUE,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  payload     bytea NOT NULL,
  UNIQUE (claim_id, version)
);

CREATE SEQUENCE claim_numbers;

-- Claims the AddEvidence transactions pick from, like the claims factlog's
-- append clients add evidence to.
INSERT INTO claims (claim_id, version, status, subject, claimant, updated_at)
  SELECT 'p-' || g, 1, 'UNVERIFIED', 'subject-' || (g % 100),
         'Claimant ' || (g % 1000), now()
  FROM generate_series(1, :claims) AS g;
INSERT INTO events (claim_id, version, type, request_id, payload)
  SELECT 'p-' || g, 1, 'CLAIM_RECORDED', 'p-' || g || '-1',
         convert_to(repeat('x', 280), 'UTF8')
  FROM generate_series(1, :claims) AS g;
VACUUM ANALYZE;
CHECKPOINT;
