-- pgbench: one AddEvidence (weight 3 of 4): the next version of a claim,
-- its projection row updated in the same transaction.
\set c random(1, :claims)
BEGIN;
UPDATE claims
  SET version = version + 1, evidence = evidence + 1,
      status = CASE WHEN evidence % 2 = 0 THEN 'CONTRADICTED' ELSE 'DISPUTED' END,
      updated_at = now()
  WHERE claim_id = 'p-' || :c
  RETURNING claim_id, version \gset
INSERT INTO events (claim_id, version, type, request_id, payload)
  VALUES (:claim_id, :version, 'EVIDENCE_ADDED', :claim_id || '-' || :version,
          convert_to(repeat('y', 280), 'UTF8'));
END;
