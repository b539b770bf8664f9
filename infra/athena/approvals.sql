-- Who approved (or rejected) which change, when, by which channel.
-- Same rows as `keyturn audit query EXPORT --report approvals`.
SELECT
  min("at")                                                AS "at",
  change_id                                                AS change,
  event                                                    AS decision,
  replace(actor, 'approver:', '')                          AS approver,
  coalesce(max(element_at(detail, 'channel')), 'signed link')  AS channel,
  array_join(array_agg(connector_id ORDER BY connector_id), ' ') AS connectors
FROM keyturn_events
WHERE event IN ('approved', 'rejected')
GROUP BY change_id, event, actor
ORDER BY 1, 2;
