//! Audit anchors (the heads of the instances' audit chains) and the list of stored moves
//! the audit verifier cross-checks the audit files against.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder, QuerySelect};

use super::{
    entities::{audit_anchor, stored_move},
    Cold, ColdError,
};

/// Why an anchor was recorded. Only the kind of the last anchor of a chain matters: after
/// a `Shutdown` anchor the instance wrote nothing more to that file, unless a later
/// `Start` anchor says it was started again on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum AnchorReason {
    /// The first anchor after the instance opened the file: at start-up, or at the first
    /// tick with lines if the file was empty then. A restart continues the chain.
    Start,
    /// The regular anchor while running (`AUDIT_ANCHOR_SECONDS`).
    Periodic,
    /// The instance closed the file on a clean shutdown: nothing follows.
    Shutdown,
}

impl AnchorReason {
    /// The name stored in `audit_anchors.reason`: `start`, `periodic`, `shutdown`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A chain head to record.
pub struct NewAnchor<'a> {
    pub instance: &'a str,
    /// The file's name (without its folder).
    pub file: &'a str,
    /// Hash of the file's first line: names the chain.
    pub chain: &'a str,
    pub lines: u64,
    /// Hash of line `lines`.
    pub hash: &'a str,
    pub reason: AnchorReason,
    pub now: DateTime<Utc>,
}

/// One stored move as the audit cross-check sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMoveKey {
    pub game_id: String,
    pub move_number: i64,
    pub column: i64,
}

impl Cold {
    pub async fn record_audit_anchor(&self, anchor: NewAnchor<'_>) -> Result<(), ColdError> {
        let model = audit_anchor::ActiveModel {
            instance: Set(anchor.instance.to_string()),
            file: Set(anchor.file.to_string()),
            chain: Set(anchor.chain.to_string()),
            lines: Set(i64::try_from(anchor.lines).unwrap_or(i64::MAX)),
            hash: Set(anchor.hash.to_string()),
            reason: Set(anchor.reason.as_str().to_string()),
            recorded_at: Set(anchor.now),
            ..Default::default()
        };
        audit_anchor::Entity::insert(model).exec(&self.db).await?;
        Ok(())
    }

    /// Every anchor, oldest first.
    pub async fn audit_anchors(&self) -> Result<Vec<audit_anchor::Model>, ColdError> {
        Ok(audit_anchor::Entity::find()
            .order_by_asc(audit_anchor::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Every stored move (game, number, column), for the audit cross-check.
    pub async fn stored_move_keys(&self) -> Result<Vec<StoredMoveKey>, ColdError> {
        let rows: Vec<(String, i32, i16)> = stored_move::Entity::find()
            .select_only()
            .column(stored_move::Column::GameId)
            .column(stored_move::Column::MoveNumber)
            .column(stored_move::Column::Column)
            .order_by_asc(stored_move::Column::GameId)
            .order_by_asc(stored_move::Column::MoveNumber)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(game_id, move_number, column)| StoredMoveKey {
                game_id,
                move_number: i64::from(move_number),
                column: i64::from(column),
            })
            .collect())
    }
}
