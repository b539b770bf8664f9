-- Per connector and change: when the rotation started and ended, the key's
-- fingerprint before and after (never the key), and the outcome.
-- Same rows as `keyturn audit query EXPORT --report rotations`.
SELECT
  connector_id                                                                       AS connector,
  change_id                                                                          AS change,
  max("at") FILTER (WHERE event = 'rotation_started')                                AS started,
  max("at") FILTER (WHERE event IN ('finalized', 'rolled_back', 'rollback_failed'))  AS ended,
  max(element_at(detail, 'old_fingerprint')) FILTER (WHERE event = 'rotation_started') AS before,
  coalesce(
    max(element_at(detail, 'current_fingerprint')) FILTER (WHERE event = 'finalized'),
    max(element_at(detail, 'new_fingerprint')) FILTER (WHERE event = 'pending_stored')
  )                                                                                  AS after,
  CASE
    WHEN count_if(event = 'finalized') > 0 THEN 'rotated'
    WHEN count_if(event = 'rollback_failed') > 0 THEN 'rollback_failed'
    WHEN count_if(event = 'rolled_back') > 0 THEN 'rolled_back'
    ELSE 'in progress'
  END                                                                                AS outcome
FROM keyturn_events
WHERE event IN ('rotation_started', 'pending_stored', 'finalized', 'rolled_back', 'rollback_failed')
GROUP BY connector_id, change_id
ORDER BY 1, 2;
