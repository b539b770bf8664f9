//! The table spec (`infra/tables.json`, shared with CDK and Terraform) and
//! creating the tables from it on the local stack.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use serde::Deserialize;

use super::store_error;
use keyturn_app::config::TableNames;
use keyturn_app::ports::StoreError;

/// The spec file, compiled in so binaries and infra can never disagree.
pub const SPEC_JSON: &str = include_str!("../../../infra/tables.json");

/// Name of the connectors table's sparse expiry index.
pub const EXPIRY_INDEX: &str = "expiry-index";
/// Name of the audit table's index of events by UTC day.
pub const DAY_INDEX: &str = "day-index";

#[derive(Debug, Clone, Deserialize)]
pub struct Spec {
    pub tables: Vec<TableSpec>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TableSpec {
    pub logical_name: String,
    pub partition_key: KeyAttr,
    #[serde(default)]
    pub sort_key: Option<KeyAttr>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexSpec>,
    #[serde(default)]
    pub ttl_attribute: Option<String>,
    pub point_in_time_recovery: bool,
    pub deletion_protection: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IndexSpec {
    pub name: String,
    pub partition_key: KeyAttr,
    pub sort_key: Option<KeyAttr>,
    pub projection: String,
    /// With projection INCLUDE: the attributes copied besides the keys.
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct KeyAttr {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// The parsed spec. The file is compiled in and checked by a unit test, so a
/// parse failure here is a build defect, reported as such.
pub fn spec() -> Result<Spec, String> {
    serde_json::from_str(SPEC_JSON).map_err(|e| format!("infra/tables.json is malformed: {e}"))
}

fn physical_name<'a>(names: &'a TableNames, logical: &str) -> Option<&'a str> {
    match logical {
        "connectors" => Some(&names.connectors),
        "changes" => Some(&names.changes),
        "audit" => Some(&names.audit),
        _ => None,
    }
}

fn attr_def(k: &KeyAttr) -> Result<AttributeDefinition, String> {
    let t = match k.kind.as_str() {
        "S" => ScalarAttributeType::S,
        "N" => ScalarAttributeType::N,
        "B" => ScalarAttributeType::B,
        other => return Err(format!("unknown attribute type {other}")),
    };
    AttributeDefinition::builder().attribute_name(&k.name).attribute_type(t).build().map_err(|e| e.to_string())
}

fn key_schema(pk: &KeyAttr, sk: Option<&KeyAttr>) -> Result<Vec<KeySchemaElement>, String> {
    let mut out = vec![KeySchemaElement::builder()
        .attribute_name(&pk.name)
        .key_type(KeyType::Hash)
        .build()
        .map_err(|e| e.to_string())?];
    if let Some(sk) = sk {
        out.push(
            KeySchemaElement::builder()
                .attribute_name(&sk.name)
                .key_type(KeyType::Range)
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(out)
}

/// Creates every table in the spec that does not exist yet. Returns each
/// table's name and whether it was created now. Idempotent.
pub async fn create_missing(client: &Client, names: &TableNames) -> Result<Vec<(String, bool)>, StoreError> {
    let invalid =
        |message: String| StoreError { service: "dynamodb", operation: "CreateTable", message, retryable: false };
    let spec = spec().map_err(invalid)?;
    let mut out = Vec::new();
    for t in &spec.tables {
        let name = physical_name(names, &t.logical_name)
            .ok_or_else(|| invalid(format!("no table name configured for {}", t.logical_name)))?
            .to_owned();
        match client.describe_table().table_name(&name).send().await {
            Ok(_) => {
                out.push((name, false));
                continue;
            }
            Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_not_found_exception()) => {}
            Err(e) => return Err(store_error("dynamodb", "DescribeTable", e)),
        }
        let mut attrs = vec![t.partition_key.clone()];
        attrs.extend(t.sort_key.clone());
        for gsi in &t.global_secondary_indexes {
            attrs.push(gsi.partition_key.clone());
            attrs.extend(gsi.sort_key.clone());
        }
        attrs.dedup_by(|a, b| a.name == b.name);
        let mut req = client
            .create_table()
            .table_name(&name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(key_schema(&t.partition_key, t.sort_key.as_ref()).map_err(invalid)?));
        let mut seen = std::collections::HashSet::new();
        for a in attrs.iter().filter(|a| seen.insert(a.name.clone())) {
            req = req.attribute_definitions(attr_def(a).map_err(invalid)?);
        }
        for gsi in &t.global_secondary_indexes {
            let projection = match gsi.projection.as_str() {
                "ALL" => ProjectionType::All,
                "KEYS_ONLY" => ProjectionType::KeysOnly,
                "INCLUDE" => ProjectionType::Include,
                other => return Err(invalid(format!("unsupported projection {other}"))),
            };
            req = req.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(&gsi.name)
                    .set_key_schema(Some(key_schema(&gsi.partition_key, gsi.sort_key.as_ref()).map_err(invalid)?))
                    .projection(
                        Projection::builder()
                            .projection_type(projection)
                            .set_non_key_attributes(
                                (!gsi.non_key_attributes.is_empty()).then(|| gsi.non_key_attributes.clone()),
                            )
                            .build(),
                    )
                    .build()
                    .map_err(|e| invalid(e.to_string()))?,
            );
        }
        req.send().await.map_err(|e| store_error("dynamodb", "CreateTable", e))?;
        if let Some(ttl) = &t.ttl_attribute {
            client
                .update_time_to_live()
                .table_name(&name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(ttl)
                        .enabled(true)
                        .build()
                        .map_err(|e| invalid(e.to_string()))?,
                )
                .send()
                .await
                .map_err(|e| store_error("dynamodb", "UpdateTimeToLive", e))?;
        }
        out.push((name, true));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_parses_and_names_every_table() {
        let spec = spec().unwrap();
        let names: Vec<&str> = spec.tables.iter().map(|t| t.logical_name.as_str()).collect();
        assert_eq!(names, ["connectors", "changes", "audit"]);
        for t in &spec.tables {
            assert!(physical_name(&TableNames::default(), &t.logical_name).is_some());
        }
        let connectors = &spec.tables[0];
        assert_eq!(connectors.global_secondary_indexes[0].name, EXPIRY_INDEX);
        assert!(spec.tables[2].point_in_time_recovery, "audit keeps PITR for exports");
    }
}
