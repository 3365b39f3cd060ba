//! The cold layer on both databases: the same migrations and queries on SQLite and on a
//! fresh PostgreSQL database.

use std::time::Duration;

use chrono::Utc;
use connect4_arena::{
    cold::{Cold, ColdError, FinishRecord, MoveBatches, NewGame, NewMove, NewSession},
    game::{EndReason, GameStatus, Seat},
};

use crate::helpers::*;

/// Both databases, each with what keeps it alive (the PostgreSQL one is dropped after).
async fn databases() -> Vec<(&'static str, Cold, Option<std::sync::Arc<DatabaseGuard>>)> {
    let sqlite = format!("sqlite://{}/cold.db?mode=rwc", temp_dir("cold").display());
    let (postgres, guard) = fresh_postgres_database_guarded().await;
    vec![
        (
            "sqlite",
            Cold::connect(&sqlite).await.expect("sqlite"),
            None,
        ),
        (
            "postgres",
            Cold::connect(&postgres).await.expect("postgres"),
            Some(guard),
        ),
    ]
}

/// A session with a token hash of its own.
fn session() -> NewSession {
    NewSession {
        token_hash: unique_name("token"),
        expires_at: Utc::now() + chrono::Duration::days(1),
    }
}

async fn game_between(cold: &Cold, id: &str) -> (i64, i64) {
    let a = cold
        .create_player(&unique_name("a"), None, 1200, Utc::now(), session())
        .await
        .unwrap();
    let b = cold
        .create_player(&unique_name("b"), None, 1200, Utc::now(), session())
        .await
        .unwrap();
    cold.insert_game(NewGame {
        id,
        player1_id: a.id,
        player2_id: Some(b.id),
        move_time_limit_secs: 60,
        rated: true,
        colour: "first",
        rematch_of: None,
        now: Utc::now(),
    })
    .await
    .unwrap();
    (a.id, b.id)
}

#[tokio::test]
async fn usernames_are_unique_regardless_of_case_on_both_databases() {
    for (name, cold, _guard) in databases().await {
        let first = session();
        let first_hash = first.token_hash.clone();
        let zed = cold
            .create_player("Zed", None, 1200, Utc::now(), first)
            .await
            .unwrap();
        let second = session();
        let second_hash = second.token_hash.clone();
        let again = cold
            .create_player("zED", None, 1200, Utc::now(), second)
            .await;
        assert!(
            matches!(again, Err(ColdError::Duplicate(_))),
            "{name}: {again:?}"
        );
        assert_eq!(
            cold.player_by_username("zed")
                .await
                .unwrap()
                .unwrap()
                .username,
            "Zed",
            "{name}"
        );
        // The player and its session are one write: the first token logs in, the
        // refused registration left no session behind.
        let now = Utc::now();
        assert_eq!(
            cold.session_player(&first_hash, now).await.unwrap(),
            Some(zed),
            "{name}"
        );
        assert_eq!(
            cold.session_player(&second_hash, now).await.unwrap(),
            None,
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_move_number_is_stored_once_on_both_databases() {
    for (name, cold, _guard) in databases().await {
        let (a, _) = game_between(&cold, "g1").await;
        let new_move = || NewMove {
            game_id: "g1",
            move_number: 1,
            seat: Seat::One,
            player_id: a,
            column: 3,
            row: 5,
            now: Utc::now(),
        };
        cold.insert_move(new_move()).await.unwrap();
        assert!(
            matches!(
                cold.insert_move(new_move()).await,
                Err(ColdError::Duplicate(_))
            ),
            "{name}"
        );
        assert_eq!(cold.moves("g1").await.unwrap().len(), 1, "{name}");
    }
}

#[tokio::test]
async fn a_game_is_settled_once_even_when_raced_on_both_databases() {
    for (name, cold, _guard) in databases().await {
        let (a, b) = game_between(&cold, "race").await;
        store_moves(&cold, "race", (a, b), &[0, 1, 0, 1, 0, 1, 0]).await;
        let finish = || FinishRecord {
            game_id: "race",
            status: GameStatus::Finished,
            reason: EndReason::FourInARow,
            winner: Some(Seat::One),
            move_count: 7,
            now: Utc::now(),
        };
        let (first, second) = tokio::join!(cold.finish_game(finish()), cold.finish_game(finish()));
        let outcomes: Vec<_> = [first.unwrap(), second.unwrap()]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(outcomes.len(), 1, "{name}: exactly one settlement");
        assert_eq!(outcomes[0].changes, (16, -16), "{name}");
        assert_eq!(
            cold.player(a).await.unwrap().unwrap().elo_rating,
            1216,
            "{name}"
        );
        assert_eq!(
            cold.player(b).await.unwrap().unwrap().elo_rating,
            1184,
            "{name}"
        );
        let row = cold.game("race").await.unwrap().unwrap();
        assert_eq!(
            (
                row.status.as_str(),
                row.winner_id,
                row.player1_rating_change
            ),
            ("finished", Some(a), Some(16)),
            "{name}"
        );
    }
}

#[tokio::test]
async fn moves_written_together_each_get_the_answer_they_would_get_alone() {
    let (url, _guard) = fresh_postgres_database_guarded().await;
    // Batches of what queued meanwhile, and batches gathered for 20 ms (all 25 moves
    // share one statement).
    for (round, window) in [Duration::ZERO, Duration::from_millis(20)]
        .into_iter()
        .enumerate()
    {
        let cold = Cold::connect(&url)
            .await
            .expect("postgres")
            .with_move_batches(MoveBatches {
                max_moves: 64,
                writers: 1,
                window,
            });
        answers_match_single_writes(&cold, &format!("r{round}-")).await;
    }
}

async fn answers_match_single_writes(cold: &Cold, prefix: &str) {
    let waiting = format!("{prefix}waiting");
    let ids: Vec<String> = (0..24).map(|n| format!("{prefix}batch{n}")).collect();
    let mut players = Vec::new();
    for id in &ids {
        players.push(game_between(cold, id).await.0);
    }
    // A game nobody joined (not active), and a move number one game already holds.
    let host = cold
        .create_player(&unique_name("host"), None, 1200, Utc::now(), session())
        .await
        .unwrap();
    cold.insert_game(NewGame {
        id: &waiting,
        player1_id: host.id,
        player2_id: None,
        move_time_limit_secs: 60,
        rated: true,
        colour: "first",
        rematch_of: None,
        now: Utc::now(),
    })
    .await
    .unwrap();
    let first_move = |game_id, player_id| NewMove {
        game_id,
        move_number: 1,
        seat: Seat::One,
        player_id,
        column: 3,
        row: 5,
        now: Utc::now(),
    };
    cold.insert_move(first_move(&ids[0], players[0]))
        .await
        .unwrap();

    let mut writes: Vec<_> = ids
        .iter()
        .zip(&players)
        .map(|(id, &player)| cold.insert_move(first_move(id, player)))
        .collect();
    writes.push(cold.insert_move(first_move(&waiting, host.id)));
    let answers = futures_util::future::join_all(writes).await;

    assert!(
        matches!(answers[0], Err(ColdError::Duplicate(_))),
        "{:?}",
        answers[0]
    );
    for (id, answer) in ids.iter().zip(&answers).skip(1) {
        assert!(answer.is_ok(), "{id}: {answer:?}");
        assert_eq!(cold.moves(id).await.unwrap().len(), 1, "{id}");
    }
    assert!(
        matches!(answers[24], Err(ColdError::Stale(_))),
        "{:?}",
        answers[24]
    );
    assert!(cold.moves(&waiting).await.unwrap().is_empty());
    assert_eq!(cold.moves(&ids[0]).await.unwrap().len(), 1);
}

/// Stores `columns` as moves of `game_id`, seats alternating from seat one.
async fn store_moves(cold: &Cold, game_id: &str, players: (i64, i64), columns: &[u8]) {
    let mut heights = [0u8; 7];
    for (index, &column) in columns.iter().enumerate() {
        let (seat, player_id) = if index % 2 == 0 {
            (Seat::One, players.0)
        } else {
            (Seat::Two, players.1)
        };
        heights[usize::from(column)] += 1;
        cold.insert_move(NewMove {
            game_id,
            move_number: index as u32 + 1,
            seat,
            player_id,
            column,
            row: 6 - heights[usize::from(column)],
            now: Utc::now(),
        })
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn a_result_is_never_settled_from_a_move_list_the_database_contradicts() {
    for (name, cold, _guard) in databases().await {
        let (a, b) = game_between(&cold, "stale").await;
        store_moves(&cold, "stale", (a, b), &[3, 3]).await;
        // A settler that saw one move (the second was stored by someone else).
        let stale = cold
            .finish_game(FinishRecord {
                game_id: "stale",
                status: GameStatus::Finished,
                reason: EndReason::Timeout,
                winner: Some(Seat::One),
                move_count: 1,
                now: Utc::now(),
            })
            .await;
        assert!(
            matches!(stale, Err(ColdError::Stale(_))),
            "{name}: {stale:?}"
        );
        let row = cold.game("stale").await.unwrap().unwrap();
        assert_eq!(row.status, GameStatus::Active, "{name}: not settled");
        assert_eq!(
            cold.player(a).await.unwrap().unwrap().elo_rating,
            1200,
            "{name}"
        );
        // Settled with the right count, no move may follow.
        let settled = cold
            .finish_game(FinishRecord {
                game_id: "stale",
                status: GameStatus::Finished,
                reason: EndReason::Resign,
                winner: Some(Seat::Two),
                move_count: 2,
                now: Utc::now(),
            })
            .await
            .unwrap();
        assert!(settled.is_some(), "{name}");
        let late = cold
            .insert_move(NewMove {
                game_id: "stale",
                move_number: 3,
                seat: Seat::One,
                player_id: a,
                column: 0,
                row: 5,
                now: Utc::now(),
            })
            .await;
        assert!(matches!(late, Err(ColdError::Stale(_))), "{name}: {late:?}");
        assert_eq!(cold.moves("stale").await.unwrap().len(), 2, "{name}");
    }
}

#[tokio::test]
async fn an_unrated_ending_changes_no_rating() {
    for (name, cold, _guard) in databases().await {
        let (a, _) = game_between(&cold, "abort").await;
        let outcome = cold
            .finish_game(FinishRecord {
                game_id: "abort",
                status: GameStatus::Abandoned,
                reason: EndReason::Timeout,
                winner: None,
                move_count: 0,
                now: Utc::now(),
            })
            .await
            .unwrap();
        assert_eq!(outcome, None, "{name}");
        assert_eq!(
            cold.player(a).await.unwrap().unwrap().elo_rating,
            1200,
            "{name}"
        );
        assert_eq!(
            cold.game("abort").await.unwrap().unwrap().status,
            GameStatus::Abandoned,
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_stored_status_or_end_reason_that_is_no_known_name_fails_to_load() {
    let sqlite = format!(
        "sqlite://{}/corrupt.db?mode=rwc",
        temp_dir("cold").display()
    );
    let (postgres, _guard) = fresh_postgres_database_guarded().await;
    for url in [sqlite, postgres] {
        let cold = Cold::connect(&url).await.expect("connect");
        game_between(&cold, "g-typed").await;
        let loaded = cold.game("g-typed").await.unwrap().expect("stored");
        assert_eq!(loaded.status, GameStatus::Active, "{url}");
        assert_eq!(loaded.end_reason, None);

        let raw = sea_orm::Database::connect(&url)
            .await
            .expect("raw connection");
        for corruption in [
            "UPDATE games SET status = 'Active' WHERE id = 'g-typed'",
            "UPDATE games SET status = 'finished', end_reason = 'bogus' WHERE id = 'g-typed'",
        ] {
            sea_orm::ConnectionTrait::execute_unprepared(&raw, corruption)
                .await
                .expect("corrupt the row");
            let read = cold.game("g-typed").await;
            assert!(
                read.is_err(),
                "{url}: after {corruption:?} the row loaded as {read:?}"
            );
        }
    }
}
