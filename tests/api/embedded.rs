//! The embedded mode end to end: SQLite + in-memory hot state and fan-out, no Redis.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn the_embedded_mode_plays_a_full_game_with_sockets_and_persists_it() {
    let spec = ClusterSpec::embedded();
    let node = spec.start("solo").await;
    let p1 = register(&node, "a").await;
    let p2 = register(&node, "b").await;
    let game_id = start_game(&node, &p1, &node, &p2).await;
    let mut s1 = Socket::connect(&node, &game_id).await;
    let mut s2 = Socket::connect(&node, &game_id).await;
    let mut spectator = Socket::connect(&node, &game_id).await;
    s1.identify(&p1).await;
    s2.identify(&p2).await;
    for (n, column) in QUICK_WIN.iter().enumerate() {
        let mover = if n % 2 == 0 { &mut s1 } else { &mut s2 };
        mover
            .send(json!({"column": column, "player": n % 2 + 1}))
            .await;
        for socket in [&mut s1, &mut s2, &mut spectator] {
            assert_eq!(socket.expect("move").await["seq"], n as u64 + 2);
        }
    }
    assert_eq!(spectator.expect("game_over").await["winner_id"], p1.id);
    let (_, stats) = get(&node, &format!("/players/{}/stats", p1.id)).await;
    assert_eq!(
        (stats["wins"].as_u64(), stats["elo_rating"].as_i64()),
        (Some(1), Some(1216))
    );
    let (status, ready) = get(&node, "/health/ready").await;
    assert_eq!((status, ready["status"].as_str()), (200, Some("ok")));
    // Fifty concurrent submissions apply once here too.
    let g2 = start_game(&node, &p1, &node, &p2).await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let url = node.http(&format!("/games/{g2}/move"));
        let token = p1.token.clone();
        tasks.push(tokio::spawn(async move {
            client()
                .post(url)
                .bearer_auth(token)
                .json(&json!({"column": 1}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut ok = 0;
    for task in tasks {
        if task.await.unwrap() == 200 {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
    let (_, moves) = get(&node, &format!("/games/{g2}/moves")).await;
    assert_eq!(moves.as_array().unwrap().len(), 1);
}
