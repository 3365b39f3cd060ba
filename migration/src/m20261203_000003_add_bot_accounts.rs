//! `players.bot_level`: the level (`easy`, `medium`, `perfect`) of a computer
//! opponent's account, `NULL` for people. A bot account has no password and no
//! session, so nobody can log in as it; there is one per level, created on first use.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Players {
    Table,
    BotLevel,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Players::Table)
                    .add_column(ColumnDef::new(Players::BotLevel).string_len(16).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_players_bot_level")
                    .table(Players::Table)
                    .col(Players::BotLevel)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_players_bot_level")
                    .table(Players::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Players::Table)
                    .drop_column(Players::BotLevel)
                    .to_owned(),
            )
            .await
    }
}
