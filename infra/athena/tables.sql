-- keyturn audit exports in Athena. Replace BUCKET, PREFIX and EXPORT_ID with
-- where `aws dynamodb export-table-to-point-in-time` (or `keyturn audit export
-- --to s3://...`) wrote the export: s3://BUCKET/PREFIX/AWSDynamoDB/EXPORT_ID/.
-- One table per export; the view below flattens DynamoDB's typed JSON.
-- Verify the export first (`keyturn audit verify`): SQL reads, it does not prove.

CREATE EXTERNAL TABLE IF NOT EXISTS keyturn_audit_export (
  Item struct<
    connector_id: struct<S: string>,
    seq: struct<N: string>,
    `at`: struct<S: string>,
    `day`: struct<S: string>,
    event: struct<S: string>,
    actor: struct<S: string>,
    change_id: struct<S: string>,
    execution_arn: struct<S: string>,
    correlation_id: struct<S: string>,
    detail: struct<M: map<string, struct<S: string>>>,
    prev_hash: struct<S: string>,
    hash: struct<S: string>
  >
)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://BUCKET/PREFIX/AWSDynamoDB/EXPORT_ID/data/';

-- Events only (digests live under connector_id '#digest'), one column per field,
-- detail as map<string, string>.
CREATE OR REPLACE VIEW keyturn_events AS
SELECT
  Item.connector_id.S                                  AS connector_id,
  CAST(Item.seq.N AS bigint)                           AS seq,
  Item."at".S                                          AS "at",
  Item.event.S                                         AS event,
  Item.actor.S                                         AS actor,
  Item.change_id.S                                     AS change_id,
  Item.execution_arn.S                                 AS execution_arn,
  transform_values(Item.detail.M, (k, v) -> v.S)       AS detail,
  Item.prev_hash.S                                     AS prev_hash,
  Item.hash.S                                          AS hash
FROM keyturn_audit_export
WHERE Item.connector_id.S <> '#digest';
