-- keyturn audit exports in Athena, reading only the data files that
-- `keyturn audit verify` verified.
--
-- Athena reads every object under a table's LOCATION, so a table over the
-- export's data/ folder would also read files someone put there after the
-- export (never listed in manifest-files.json, never verified). Instead:
--
--   1. keyturn audit verify s3://BUCKET/PREFIX --public-key HEX --athena-manifest verified.txt
--      (writes verified.txt only when the export verifies: one s3:// URL per
--      data file the manifest lists and the verifier read)
--   2. aws s3 cp verified.txt s3://AUDIT_BUCKET/keyturn-verified/EXPORT_ID/symlink.txt
--      (a folder only you can write: whoever can write it chooses what Athena reads)
--   3. Replace AUDIT_BUCKET and EXPORT_ID below and run this file.
--
-- The symlink manifest names files, not their versions: copy the export into a
-- bucket you control before verifying (or use S3 Object Lock) if its writers
-- could replace a data file after you verified it.

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
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://AUDIT_BUCKET/keyturn-verified/EXPORT_ID/';

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
