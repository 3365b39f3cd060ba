//! The solver's analysis of games over HTTP: `POST /analysis` for a move list and
//! `GET /games/{id}/analysis` for a stored game agree with the solver itself on every
//! position they call solved, mark the others unsolved, and refuse bad input with a
//! JSON error code.

use connect4_arena::game::solver::{Position, Solver};
use serde_json::{json, Value};

use crate::helpers::*;

/// Plies from this many stones on are re-solved here; earlier solved plies are checked
/// for consistency only (re-solving them in a debug build on a loaded machine takes
/// far longer than the server's warm, bounded search did).
const RESOLVED_FROM: usize = 22;

/// Every solved ply of `analysis`: its scores are consistent (the best score is the
/// best column's, the verdict follows from the played column's score), and from
/// [`RESOLVED_FROM`] stones on they are the solver's, run here. Unsolved plies carry
/// no score. Returns how many plies were solved.
fn assert_matches_solver(analysis: &Value, moves: &[u8]) -> usize {
    let plies = analysis["plies"].as_array().expect("plies");
    assert_eq!(plies.len(), moves.len(), "{analysis}");
    let mut solver = Solver::new(1 << 21);
    let mut solved = 0;
    for (n, ply) in plies.iter().enumerate().rev() {
        assert_eq!(ply["ply"].as_u64(), Some(n as u64 + 1));
        assert_eq!(ply["column"].as_u64(), Some(u64::from(moves[n])));
        if ply["solved"] != true {
            assert_eq!(ply["verdict"], "unsolved", "{ply}");
            assert!(ply["score_before"].is_null(), "{ply}");
            continue;
        }
        solved += 1;
        let scores: Vec<Option<i32>> = if n >= RESOLVED_FROM {
            let line: String = moves[..n].iter().map(|c| char::from(b'1' + c)).collect();
            solver
                .analyze(&Position::from_moves(&line).expect("legal"))
                .to_vec()
        } else {
            serde_json::from_value(ply["column_scores"].clone()).expect("column_scores")
        };
        assert_eq!(ply["column_scores"], json!(scores), "ply {}: {ply}", n + 1);
        let best = scores.iter().flatten().max().copied();
        assert_eq!(
            ply["score_before"].as_i64(),
            best.map(i64::from),
            "ply {}: {ply}",
            n + 1
        );
        let played = scores[usize::from(moves[n])];
        assert_eq!(ply["move_score"].as_i64(), played.map(i64::from), "{ply}");
        let best_columns: Vec<u64> = (0..7u64).filter(|&c| scores[c as usize] == best).collect();
        let reported: Vec<u64> = ply["best_columns"]
            .as_array()
            .expect("best_columns")
            .iter()
            .filter_map(Value::as_u64)
            .collect();
        assert_eq!(reported, best_columns, "{ply}");
        assert_eq!(ply["verdict"] == "best", played == best, "{ply}");
    }
    assert_eq!(analysis["solved_plies"].as_u64(), Some(solved as u64));
    solved
}

/// A late game: columns 1–6 nearly full (1-based "1212122121213434344343435656566565").
fn late_game() -> Vec<u8> {
    "1212122121213434344343435656566565"
        .bytes()
        .map(|b| b - b'1')
        .collect()
}

#[tokio::test]
async fn a_move_list_is_analysed_like_the_solver_sees_it() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let moves = late_game();
    let (status, analysis) = post(&nodes[0], "/analysis", None, json!({ "moves": moves })).await;
    assert_eq!(status, 200, "{analysis}");
    let solved = assert_matches_solver(&analysis, &moves);
    // The last plies of a nearly full board are always within the budget.
    assert!(solved >= 34 - RESOLVED_FROM, "{analysis}");
    assert!(analysis["game_id"].is_null());
}

#[tokio::test]
async fn a_finished_game_against_the_bot_is_analysed_from_the_database() {
    let spec = ClusterSpec::postgres_and_redis()
        .await
        .with("BOT_MOVE_DELAY_MS", "0");
    let node = spec.start("node0").await;
    let player = register(&node, "analysed").await;
    let body = json!({ "opponent": { "bot": "easy" } });
    let (_, game) = post(&node, "/games", Some(&player.token), body).await;
    let game_id = game["game_id"].as_str().expect("game_id").to_string();
    // Stack column 4: the easy bot blocks the vertical threat, so play elsewhere after.
    let mut finished = game;
    for _ in 0..42 {
        let (_, view) = get(&node, &format!("/games/{game_id}")).await;
        if view["status"] != "active" {
            finished = view;
            break;
        }
        if view["next_player"] != 1 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        }
        let top = &view["board"][0];
        let column = [3u8, 2, 4, 1, 5, 0, 6]
            .into_iter()
            .find(|&c| top[usize::from(c)] == 0)
            .expect("free column");
        play(&node, &player, &game_id, column).await;
    }
    let (_, moves) = get(&node, &format!("/games/{game_id}/moves")).await;
    let moves: Vec<u8> = moves
        .as_array()
        .expect("moves")
        .iter()
        .map(|m| m["column"].as_u64().expect("column") as u8)
        .collect();
    let (status, analysis) = get(&node, &format!("/games/{game_id}/analysis")).await;
    assert_eq!(status, 200, "{analysis}");
    assert_eq!(analysis["game_id"], game_id.as_str());
    assert!(!moves.is_empty(), "{finished}");
    let solved = assert_matches_solver(&analysis, &moves);
    assert!(solved >= 1, "the last ply is always solved: {analysis}");
    // Cached per position: the second answer is the same.
    let (_, again) = get(&node, &format!("/games/{game_id}/analysis")).await;
    assert_eq!(again, analysis);
}

#[tokio::test]
async fn bad_move_lists_and_unknown_games_get_json_errors() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let node = &nodes[0];
    for (moves, expected) in [
        (json!([3, 7]), "invalid_move_list"),
        (json!([-1]), "invalid_move_list"),
        (json!([0, 0, 0, 0, 0, 0, 0]), "invalid_move_list"),
        (json!([0, 1, 0, 1, 0, 1, 0, 2]), "invalid_move_list"),
    ] {
        let (status, error) = post(node, "/analysis", None, json!({ "moves": moves })).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (422, Some(expected)),
            "{moves}: {error}"
        );
    }
    let too_long: Vec<u8> = (0..43).map(|n| n % 7).collect();
    let (status, error) = post(node, "/analysis", None, json!({ "moves": too_long })).await;
    assert!(status == 400 || status == 422, "{status} {error}");
    assert!(error["code"].is_string(), "{error}");
    let (status, error) = post(node, "/analysis", None, json!({ "moves": "34" })).await;
    assert!(status == 400 || status == 422, "{status} {error}");
    assert!(error["code"].is_string(), "{error}");
    let (status, error) = get(node, "/games/no-such-game/analysis").await;
    assert_eq!(
        (status, error["code"].as_str()),
        (404, Some("game_not_found")),
        "{error}"
    );
    let (status, analysis) = post(node, "/analysis", None, json!({ "moves": [] })).await;
    assert_eq!(status, 200, "{analysis}");
    assert_eq!(analysis["plies"], json!([]));
}
