//! The inventory as the steps read it: keyturn-domain's reading and
//! validation, plus loading one stored connector through a port.

pub use keyturn_domain::inventory::*;

/// Why a connector a step needs cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] crate::ports::StoreError),
    #[error("no longer in the inventory")]
    Missing,
    /// Every field problem, joined.
    #[error("{0}")]
    Invalid(String),
}

/// Reads one connector and re-validates it (see [`validate_stored`]).
pub async fn load_connector<L: crate::ports::ConnectorLookup>(
    lookup: &L,
    id: &keyturn_domain::ConnectorId,
    now: time::OffsetDateTime,
) -> Result<keyturn_domain::Connector, LoadError> {
    let found = lookup.get_many(std::slice::from_ref(id)).await?;
    let stored = found.first().ok_or(LoadError::Missing)?;
    validate_stored(stored, now)
        .map_err(|errors| LoadError::Invalid(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))
}
