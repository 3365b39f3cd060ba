//! Players, sessions, games, moves and rating history, with the indexes the
//! leaderboard and a player's history need. `moves (game_id, move_number)` is unique:
//! it is the database's guarantee that a move is stored once.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Players {
    Table,
    Id,
    Username,
    UsernameKey,
    PasswordHash,
    EloRating,
    Wins,
    Losses,
    Draws,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    TokenHash,
    PlayerId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Games {
    Table,
    Id,
    Player1Id,
    Player2Id,
    Status,
    WinnerId,
    WinnerSeat,
    IsDraw,
    EndReason,
    MoveTimeLimitSecs,
    MoveCount,
    RematchOf,
    Player1RatingChange,
    Player2RatingChange,
    CreatedAt,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum Moves {
    Table,
    Id,
    GameId,
    MoveNumber,
    PlayerSeat,
    PlayerId,
    Column,
    Row,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Ratings {
    Table,
    Id,
    PlayerId,
    GameId,
    RatingBefore,
    RatingAfter,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Players::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Players::Id))
                    .col(string_len(Players::Username, 32))
                    .col(string_len_uniq(Players::UsernameKey, 32))
                    .col(string_null(Players::PasswordHash))
                    .col(integer(Players::EloRating))
                    .col(integer(Players::Wins).default(0))
                    .col(integer(Players::Losses).default(0))
                    .col(integer(Players::Draws).default(0))
                    .col(timestamp_with_time_zone(Players::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_players_leaderboard")
                    .table(Players::Table)
                    .col((Players::EloRating, IndexOrder::Desc))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .if_not_exists()
                    .col(string_len(Sessions::TokenHash, 64).primary_key())
                    .col(big_integer(Sessions::PlayerId))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::PlayerId)
                            .to(Players::Table, Players::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Games::Table)
                    .if_not_exists()
                    .col(string_len(Games::Id, 36).primary_key())
                    .col(big_integer(Games::Player1Id))
                    .col(big_integer_null(Games::Player2Id))
                    .col(string_len(Games::Status, 16))
                    .col(big_integer_null(Games::WinnerId))
                    .col(small_integer_null(Games::WinnerSeat))
                    .col(boolean(Games::IsDraw).default(false))
                    .col(string_len_null(Games::EndReason, 16))
                    .col(integer(Games::MoveTimeLimitSecs))
                    .col(integer(Games::MoveCount).default(0))
                    .col(string_len_null(Games::RematchOf, 36))
                    .col(integer_null(Games::Player1RatingChange))
                    .col(integer_null(Games::Player2RatingChange))
                    .col(timestamp_with_time_zone(Games::CreatedAt))
                    .col(timestamp_with_time_zone_null(Games::StartedAt))
                    .col(timestamp_with_time_zone_null(Games::FinishedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Games::Table, Games::Player1Id)
                            .to(Players::Table, Players::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Games::Table, Games::Player2Id)
                            .to(Players::Table, Players::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "idx_games_status_created",
                vec![Games::Status, Games::CreatedAt],
            ),
            (
                "idx_games_player1",
                vec![Games::Player1Id, Games::CreatedAt],
            ),
            (
                "idx_games_player2",
                vec![Games::Player2Id, Games::CreatedAt],
            ),
        ] {
            let mut index = Index::create();
            index.if_not_exists().name(name).table(Games::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Moves::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Moves::Id))
                    .col(string_len(Moves::GameId, 36))
                    .col(integer(Moves::MoveNumber))
                    .col(small_integer(Moves::PlayerSeat))
                    .col(big_integer(Moves::PlayerId))
                    .col(small_integer(Moves::Column))
                    .col(small_integer(Moves::Row))
                    .col(timestamp_with_time_zone(Moves::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Moves::Table, Moves::GameId)
                            .to(Games::Table, Games::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("uq_moves_game_move_number")
                    .table(Moves::Table)
                    .col(Moves::GameId)
                    .col(Moves::MoveNumber)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Ratings::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Ratings::Id))
                    .col(big_integer(Ratings::PlayerId))
                    .col(string_len(Ratings::GameId, 36))
                    .col(integer(Ratings::RatingBefore))
                    .col(integer(Ratings::RatingAfter))
                    .col(timestamp_with_time_zone(Ratings::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Ratings::Table, Ratings::PlayerId)
                            .to(Players::Table, Players::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Ratings::Table, Ratings::GameId)
                            .to(Games::Table, Games::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("uq_ratings_player_game")
                    .table(Ratings::Table)
                    .col(Ratings::PlayerId)
                    .col(Ratings::GameId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Ratings::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Moves::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Games::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Sessions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Players::Table).to_owned())
            .await
    }
}
