-- pgbench: one RecordClaim (weight 1 of 4, as in factlog's append mix).
\set n random(1, 1000000)
BEGIN;
INSERT INTO claims (claim_id, version, status, subject, claimant, updated_at)
  VALUES ('c-' || nextval('claim_numbers'), 1, 'UNVERIFIED',
          'subject-' || (:n % 100), 'Claimant ' || (:n % 1000), now())
  RETURNING claim_id \gset
INSERT INTO events (claim_id, version, type, request_id, payload)
  VALUES (:claim_id, 1, 'CLAIM_RECORDED', :claim_id || '-1',
          convert_to(repeat('x', 280), 'UTF8'));
END;
