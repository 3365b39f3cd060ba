//! `audit_anchors`: the chain heads each instance records outside its audit file (line
//! count and hash of the last line, at regular intervals, at start-up and at shutdown),
//! so `connect4-arena verify` can tell a cut-off tail, a rewritten chain or a line
//! appended after a clean shutdown from an intact file. A chain is named by the hash of
//! its first line.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditAnchors {
    Table,
    Id,
    Instance,
    File,
    Chain,
    Lines,
    Hash,
    Reason,
    RecordedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditAnchors::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuditAnchors::Id))
                    .col(string_len(AuditAnchors::Instance, 255))
                    .col(string_len(AuditAnchors::File, 255))
                    .col(string_len(AuditAnchors::Chain, 64))
                    .col(big_integer(AuditAnchors::Lines))
                    .col(string_len(AuditAnchors::Hash, 64))
                    .col(string_len(AuditAnchors::Reason, 16))
                    .col(timestamp_with_time_zone(AuditAnchors::RecordedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_audit_anchors_chain")
                    .table(AuditAnchors::Table)
                    .col(AuditAnchors::Chain)
                    .col(AuditAnchors::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditAnchors::Table).to_owned())
            .await
    }
}
