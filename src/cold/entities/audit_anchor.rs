//! One recorded head of an instance's audit chain: after `lines` lines the file's last
//! line had hash `hash`. `chain` (the hash of the first line) names the file's chain, so
//! a rotated file and its successor keep their anchors apart.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_anchors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub instance: String,
    pub file: String,
    pub chain: String,
    pub lines: i64,
    pub hash: String,
    pub reason: String,
    pub recorded_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
