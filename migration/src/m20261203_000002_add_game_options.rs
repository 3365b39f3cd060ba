//! The options a game is created with, besides its move clock: `rated` (false for a
//! casual game, whose result moves no rating) and `colour` (the creator's choice:
//! `first`, `second` or `random`). Games created before have the defaults: rated, the
//! creator moving first. One column per statement: SQLite alters one at a time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Games {
    Table,
    Rated,
    Colour,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if !manager.has_column("games", "rated").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Games::Table)
                        .add_column(boolean(Games::Rated).default(true))
                        .to_owned(),
                )
                .await?;
        }
        if !manager.has_column("games", "colour").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Games::Table)
                        .add_column(string_len(Games::Colour, 8).default("first"))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Games::Colour, Games::Rated] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Games::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
