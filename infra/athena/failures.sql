-- Rollbacks, failed rollbacks, failed verifications, manual interventions and their resolution.
-- Same rows as `keyturn audit query EXPORT --report failures`.
SELECT
  "at",
  connector_id AS connector,
  change_id    AS change,
  event,
  array_join(
    filter(
      ARRAY[
        'reason: ' || element_at(detail, 'reason'),
        'error: ' || element_at(detail, 'error'),
        'not_restored: ' || nullif(element_at(detail, 'not_restored'), ''),
        'restored: ' || nullif(element_at(detail, 'restored'), ''),
        'note: ' || element_at(detail, 'note')
      ],
      x -> x IS NOT NULL
    ),
    '; '
  ) AS what
FROM keyturn_events
WHERE event IN ('rolled_back', 'rollback_failed', 'verification_failed', 'needs_manual_intervention', 'resolved')
ORDER BY 1, 2;
