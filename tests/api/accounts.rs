//! Accounts that can't be hijacked.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_guest_and_a_password_player_register_and_the_password_player_logs_in_again() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let node = &nodes[0];
    let guest = unique_name("guest");
    let (status, body) = post(node, "/players", None, json!({"username": guest})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["guest"], true);
    assert_eq!(body["elo_rating"], 1200);

    let name = unique_name("pw");
    let (status, body) = post(
        node,
        "/players",
        None,
        json!({"username": name, "password": "correct horse"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["guest"], false);
    let id = body["id"].clone();

    let (status, login) = post(
        node,
        "/sessions",
        None,
        json!({"username": name.to_uppercase(), "password": "correct horse"}),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["id"], id);
    assert_ne!(
        login["token"], body["token"],
        "a new session gets a new token"
    );

    let me = client()
        .get(node.http("/players/me"))
        .bearer_auth(login["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let (status, me) = reply(me).await;
    assert_eq!((status, me["id"].clone()), (200, id));
}

#[tokio::test]
async fn a_taken_username_is_a_409_never_a_login() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let name = unique_name("taken");
    let (status, _) = post(
        &nodes[0],
        "/players",
        None,
        json!({"username": name, "password": "password1"}),
    )
    .await;
    assert_eq!(status, 201);
    for attempt in [
        json!({"username": name}),
        json!({"username": name.to_uppercase(), "password": "password1"}),
    ] {
        let (status, body) = post(&nodes[0], "/players", None, attempt).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["code"], "username_taken");
        assert!(body.get("token").is_none());
    }
}

#[tokio::test]
async fn wrong_passwords_and_guests_cannot_log_in() {
    let (_spec, nodes) = spawn_cluster(1).await;
    let name = unique_name("pw");
    post(
        &nodes[0],
        "/players",
        None,
        json!({"username": name, "password": "password1"}),
    )
    .await;
    let (status, body) = post(
        &nodes[0],
        "/sessions",
        None,
        json!({"username": name, "password": "password2"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let guest = register(&nodes[0], "g").await;
    let (status, body) = post(
        &nodes[0],
        "/sessions",
        None,
        json!({"username": guest.username, "password": "anything1"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
}

#[tokio::test]
async fn username_rules_give_422_with_a_clear_message() {
    let (_spec, nodes) = spawn_cluster(1).await;
    for bad in [
        "ab",
        "has space",
        "<script>",
        "waaaaaaaaaaaaaaaaaaaay_too_long",
    ] {
        let (status, body) = post(&nodes[0], "/players", None, json!({"username": bad})).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["code"], "invalid_username");
        assert!(
            body["error"].as_str().unwrap().starts_with("Username"),
            "{body}"
        );
    }
    let (status, body) = post(
        &nodes[0],
        "/players",
        None,
        json!({"username": unique_name("u"), "password": "short"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_password"))
    );
}
