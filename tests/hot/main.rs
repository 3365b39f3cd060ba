//! The `HotStore` contract, written once and run against both implementations: the
//! machine's real Redis (each test under a key prefix of its own) and the embedded
//! mode's memory store. Whatever the service relies on — compare-and-set commits,
//! owner-only locks, write intents, the matchmaking queue's order and pairing rule,
//! pending matches, presence, timers, clocks, rate-limit counters — must hold on both,
//! or the embedded mode and a cluster would play differently.

use std::{sync::Arc, time::Duration};

use connect4_arena::{
    fanout::{Fanout, LocalFanout, RedisFanout, Rooms, Subscription},
    hot::{
        connect_single, Commit, CommitOutcome, Deadline, HotStore, Keys, Loaded, MatchRecord,
        MemoryHotStore, PairingRules, PresenceMember, RedisHotStore, Release, Timer, Versioned,
        PENDING_MATCH_TTL,
    },
};

/// A store under test and a way to listen to the channels it publishes on.
struct Subject {
    hot: Arc<dyn HotStore>,
    fanout: Arc<dyn Fanout>,
    keys: Keys,
    redis_keys: Option<RedisKeys>,
}

impl Subject {
    async fn memory() -> Subject {
        let rooms = Arc::new(Rooms::default());
        let keys = Keys::new("c4");
        Subject {
            hot: Arc::new(MemoryHotStore::new(Arc::clone(&rooms), keys.clone())),
            fanout: Arc::new(LocalFanout::new(rooms)),
            keys,
            redis_keys: None,
        }
    }

    async fn redis() -> Subject {
        let url =
            std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let prefix = format!("test-hot-{}", uuid::Uuid::new_v4().simple());
        let keys = Keys::new(&prefix);
        let backend = connect_single(&url).await.expect("Redis at TEST_REDIS_URL");
        let client = redis::Client::open(url.as_str()).expect("redis url");
        Subject {
            hot: Arc::new(RedisHotStore::new(backend, keys.clone())),
            fanout: Arc::new(RedisFanout::start(client)),
            keys,
            redis_keys: Some(RedisKeys { url, prefix }),
        }
    }

    async fn listen(&self, game_id: &str) -> Subscription {
        self.fanout
            .subscribe(&self.keys.game_channel(game_id))
            .await
            .expect("subscribe")
    }
}

/// Deletes a Redis test's keys when it ends.
struct RedisKeys {
    url: String,
    prefix: String,
}

impl Drop for RedisKeys {
    fn drop(&mut self) {
        let Ok(mut conn) = redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection())
        else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<i64> = redis::cmd("UNLINK").arg(keys).query(&mut conn);
        }
    }
}

/// Runs each contract test against both stores.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Subject::memory().await).await
            })*
        }
        mod redis_store {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Subject::redis().await).await
            })*
        }
    };
}

contract!(
    create_never_overwrites,
    load_reports_a_missing_state,
    reading_a_state_slides_its_ttl,
    a_lock_is_released_only_by_its_holder,
    an_expired_lock_can_be_taken_and_reports_the_interrupted_holder,
    a_holder_that_may_have_written_leaves_its_intent_when_it_lets_go,
    commit_needs_the_lock_and_the_version_read,
    commit_of_a_game_without_hot_state_expects_none,
    commit_publishes_its_events_in_order_and_releases_the_lock,
    publish_reaches_listeners_of_the_channel_only,
    exactly_one_vote_completes_a_rematch,
    presence_counts_sockets_refreshed_in_the_window,
    online_count_forgets_players_not_seen_since,
    pairing_takes_the_closest_compatible_rating_and_widens_with_time,
    pairing_ties_go_to_the_longest_waiting_then_the_lower_id,
    pairing_marks_both_players_pending,
    an_unpaired_or_unknown_player_is_not_paired,
    silent_queue_entries_expire,
    queue_order_is_joining_time_then_player_id,
    joining_again_keeps_the_place_and_updates_the_rating,
    leaving_the_queue,
    match_records_are_remembered_until_cleared_or_expired,
    deadlines_are_due_in_order_and_per_timer,
    clocks_are_armed_only_once_marked,
    attempts_count_in_a_window_that_closes_on_its_own,
    ping_answers,
);

const TTL: Duration = Duration::from_secs(60);

const RULES: PairingRules = PairingRules {
    base: 200,
    widen_per_second: 50,
    cap: 800,
    stale_ms: 30_000,
};

fn versioned(version: u64, state: &str) -> Versioned {
    Versioned {
        version,
        state: state.into(),
    }
}

/// Takes the lock of game "g" once; true when taken.
async fn lock(s: &Subject, token: &str, ttl: Duration) -> bool {
    s.hot
        .try_lock_and_load("g", token, ttl, TTL)
        .await
        .unwrap()
        .is_some()
}

async fn interrupted(s: &Subject) -> bool {
    s.hot.load("g", TTL).await.unwrap().interrupted
}

fn commit<'a>(token: &'a str, expected: Option<u64>, state: &str) -> Commit<'a> {
    Commit {
        lock_token: token,
        expected_version: expected,
        new: versioned(expected.map_or(0, |v| v + 1), state),
        events: Vec::new(),
        ttl: TTL,
        turn_deadline_ms: Some(100),
    }
}

async fn next_event(subscription: &mut Subscription) -> String {
    let event = tokio::time::timeout(Duration::from_secs(5), subscription.recv())
        .await
        .expect("an event within 5 s")
        .expect("room open");
    event.text.to_string()
}

async fn create_never_overwrites(s: Subject) {
    assert!(s.hot.create("g", &versioned(0, "zero"), TTL).await.unwrap());
    assert!(!s
        .hot
        .create("g", &versioned(7, "other"), TTL)
        .await
        .unwrap());
    let loaded = s.hot.load("g", TTL).await.unwrap();
    assert_eq!(loaded.state, Some(versioned(0, "zero")));
    assert!(!loaded.interrupted);
}

async fn load_reports_a_missing_state(s: Subject) {
    let loaded = s.hot.load("nothing", TTL).await.unwrap();
    assert_eq!(loaded.state, None);
    assert!(!loaded.interrupted);
    let short = Duration::from_millis(30);
    assert!(s
        .hot
        .create("brief", &versioned(0, "x"), short)
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(
        s.hot.load("brief", TTL).await.unwrap().state,
        None,
        "expired"
    );
    assert!(
        s.hot
            .create("brief", &versioned(1, "y"), TTL)
            .await
            .unwrap(),
        "an expired state may be created again"
    );
}

async fn reading_a_state_slides_its_ttl(s: Subject) {
    let short = Duration::from_millis(1_000);
    for game in ["read", "locked"] {
        assert!(s
            .hot
            .create(game, &versioned(0, game), short)
            .await
            .unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.hot.load("read", TTL).await.unwrap();
    let taken = s
        .hot
        .try_lock_and_load("locked", "a", TTL, TTL)
        .await
        .unwrap();
    assert!(taken.is_some());
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    for game in ["read", "locked"] {
        assert_eq!(
            s.hot.load(game, TTL).await.unwrap().state,
            Some(versioned(0, game)),
            "{game}: the read gave it the longer TTL"
        );
    }
}

async fn a_lock_is_released_only_by_its_holder(s: Subject) {
    s.hot
        .create("g", &versioned(3, "three"), TTL)
        .await
        .unwrap();
    let taken = s.hot.try_lock_and_load("g", "a", TTL, TTL).await.unwrap();
    assert_eq!(
        taken,
        Some(Loaded {
            state: Some(versioned(3, "three")),
            interrupted: false,
        }),
        "taking the lock loads the state"
    );
    assert!(!lock(&s, "b", TTL).await);
    s.hot.unlock("g", "b", Release::Clean).await.unwrap();
    assert!(!lock(&s, "b", TTL).await, "b must not release a's lock");
    assert!(
        !interrupted(&s).await,
        "a holds the lock: nothing to reconcile"
    );
    s.hot.unlock("g", "a", Release::Clean).await.unwrap();
    assert!(!interrupted(&s).await, "a clean release leaves no intent");
    let taken = s.hot.try_lock_and_load("g", "b", TTL, TTL).await.unwrap();
    assert_eq!(taken.map(|loaded| loaded.interrupted), Some(false));
}

async fn an_expired_lock_can_be_taken_and_reports_the_interrupted_holder(s: Subject) {
    assert!(lock(&s, "a", Duration::from_millis(200)).await);
    assert!(!interrupted(&s).await, "a holds it");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(interrupted(&s).await, "an intent without its lock");
    let taken = s.hot.try_lock_and_load("g", "b", TTL, TTL).await.unwrap();
    assert_eq!(taken.map(|loaded| loaded.interrupted), Some(true));
    assert!(!interrupted(&s).await, "b holds it");
    s.hot.unlock("g", "a", Release::Clean).await.unwrap();
    assert!(
        !lock(&s, "c", TTL).await,
        "a's late unlock must not free b's lock"
    );
    s.hot.unlock("g", "b", Release::Clean).await.unwrap();
    assert!(!interrupted(&s).await);
}

async fn a_holder_that_may_have_written_leaves_its_intent_when_it_lets_go(s: Subject) {
    assert!(lock(&s, "a", TTL).await);
    s.hot.unlock("g", "a", Release::Interrupted).await.unwrap();
    assert!(interrupted(&s).await);
    let taken = s.hot.try_lock_and_load("g", "b", TTL, TTL).await.unwrap();
    assert_eq!(taken.map(|loaded| loaded.interrupted), Some(true));
    s.hot.unlock("g", "b", Release::Clean).await.unwrap();
    assert!(
        !interrupted(&s).await,
        "the next holder's clean release ends it"
    );
}

async fn commit_needs_the_lock_and_the_version_read(s: Subject) {
    assert!(s.hot.create("g", &versioned(0, "zero"), TTL).await.unwrap());
    let deadlines = || s.hot.due(Timer::TurnDeadline, 100, 10);
    assert_eq!(
        s.hot
            .commit("g", commit("a", Some(0), "next"))
            .await
            .unwrap(),
        CommitOutcome::LockLost,
        "no lock held"
    );
    assert!(lock(&s, "a", TTL).await);
    assert_eq!(
        s.hot
            .commit("g", commit("b", Some(0), "next"))
            .await
            .unwrap(),
        CommitOutcome::LockLost,
        "someone else's token"
    );
    assert_eq!(
        s.hot
            .commit("g", commit("a", Some(5), "next"))
            .await
            .unwrap(),
        CommitOutcome::VersionChanged
    );
    assert!(
        deadlines().await.unwrap().is_empty(),
        "a refused commit schedules nothing"
    );
    assert_eq!(
        s.hot.load("g", TTL).await.unwrap().state,
        Some(versioned(0, "zero")),
        "a refused commit writes nothing"
    );
    assert_eq!(
        s.hot
            .commit("g", commit("a", Some(0), "one"))
            .await
            .unwrap(),
        CommitOutcome::Committed
    );
    assert_eq!(deadlines().await.unwrap(), vec![Deadline::turn("g")]);
    assert_eq!(
        s.hot.load("g", TTL).await.unwrap().state,
        Some(versioned(1, "one"))
    );
    assert_eq!(
        s.hot
            .commit("g", commit("a", Some(1), "two"))
            .await
            .unwrap(),
        CommitOutcome::LockLost,
        "a commit releases the lock"
    );
    let taken = s.hot.try_lock_and_load("g", "b", TTL, TTL).await.unwrap();
    assert_eq!(
        taken.map(|loaded| loaded.interrupted),
        Some(false),
        "commit released the lock and its intent"
    );
    let ended = Commit {
        turn_deadline_ms: None,
        ..commit("b", Some(1), "over")
    };
    assert_eq!(
        s.hot.commit("g", ended).await.unwrap(),
        CommitOutcome::Committed
    );
    assert!(
        deadlines().await.unwrap().is_empty(),
        "a commit without a deadline takes the game off the clock"
    );
}

async fn commit_of_a_game_without_hot_state_expects_none(s: Subject) {
    assert!(lock(&s, "a", TTL).await);
    assert_eq!(
        s.hot.commit("g", commit("a", Some(0), "x")).await.unwrap(),
        CommitOutcome::VersionChanged,
        "no state stored: version 0 is not current"
    );
    assert_eq!(
        s.hot
            .commit("g", commit("a", None, "rebuilt"))
            .await
            .unwrap(),
        CommitOutcome::Committed
    );
    assert_eq!(
        s.hot.load("g", TTL).await.unwrap().state,
        Some(versioned(0, "rebuilt"))
    );
    assert!(lock(&s, "b", TTL).await);
    assert_eq!(
        s.hot.commit("g", commit("b", None, "again")).await.unwrap(),
        CommitOutcome::VersionChanged,
        "a state exists now"
    );
}

async fn commit_publishes_its_events_in_order_and_releases_the_lock(s: Subject) {
    let mut listener = s.listen("g").await;
    assert!(lock(&s, "a", TTL).await);
    let refused = Commit {
        events: vec!["never".into()],
        ..commit("a", Some(3), "x")
    };
    assert_eq!(
        s.hot.commit("g", refused).await.unwrap(),
        CommitOutcome::VersionChanged
    );
    let accepted = Commit {
        events: vec!["first".into(), "second".into()],
        ..commit("a", None, "x")
    };
    assert_eq!(
        s.hot.commit("g", accepted).await.unwrap(),
        CommitOutcome::Committed
    );
    assert_eq!(next_event(&mut listener).await, "first");
    assert_eq!(next_event(&mut listener).await, "second");
    assert!(lock(&s, "b", TTL).await, "the commit released the lock");
}

async fn publish_reaches_listeners_of_the_channel_only(s: Subject) {
    let mut listener = s.listen("g").await;
    s.hot
        .publish(&s.keys.game_channel("other"), "not for g")
        .await
        .unwrap();
    s.hot
        .publish(&s.keys.game_channel("g"), "hello")
        .await
        .unwrap();
    assert_eq!(next_event(&mut listener).await, "hello");
}

async fn exactly_one_vote_completes_a_rematch(s: Subject) {
    assert_eq!(s.hot.rematch_vote("g", 1, TTL).await.unwrap(), (1, false));
    assert_eq!(s.hot.rematch_vote("g", 1, TTL).await.unwrap(), (1, false));
    assert_eq!(s.hot.rematch_vote("g", 2, TTL).await.unwrap(), (2, true));
    assert_eq!(s.hot.rematch_vote("g", 2, TTL).await.unwrap(), (2, false));
    assert_eq!(s.hot.rematch_vote("h", 2, TTL).await.unwrap(), (1, false));
    // Votes expire together, a window that every vote slides.
    let short = Duration::from_millis(1_000);
    s.hot.rematch_vote("e", 1, short).await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    s.hot.rematch_vote("e", 1, short).await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        s.hot.rematch_vote("e", 2, short).await.unwrap(),
        (2, true),
        "the second vote of seat one slid the window"
    );
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(s.hot.rematch_vote("e", 1, short).await.unwrap(), (1, false));
}

async fn presence_counts_sockets_refreshed_in_the_window(s: Subject) {
    let socket = |seat: Option<u8>, instance: &str, socket: u64| PresenceMember {
        seat,
        instance: instance.into(),
        socket,
    };
    let one = socket(Some(1), "a", 1);
    let two = socket(Some(2), "b|with a bar", 2);
    let viewer = socket(None, "a", 3);
    s.hot.presence_touch("g", &one, 1_000).await.unwrap();
    s.hot.presence_touch("g", &two, 2_000).await.unwrap();
    s.hot.presence_touch("g", &viewer, 3_000).await.unwrap();
    s.hot.presence_touch("other", &viewer, 3_000).await.unwrap();
    let members = |since| s.hot.presence_members("g", since);
    let mut all = members(1_000).await.unwrap();
    all.sort_by_key(|m| m.socket);
    assert_eq!(all, vec![one.clone(), two.clone(), viewer.clone()]);
    let mut recent = members(2_000).await.unwrap();
    recent.sort_by_key(|m| m.socket);
    assert_eq!(
        recent,
        vec![two.clone(), viewer.clone()],
        "since is inclusive"
    );
    s.hot.presence_touch("g", &one, 5_000).await.unwrap();
    assert_eq!(
        members(4_000).await.unwrap(),
        vec![one.clone()],
        "refreshed"
    );
    s.hot.presence_remove("g", &one).await.unwrap();
    assert!(members(4_000).await.unwrap().is_empty());
    s.hot.presence_remove("g", &one).await.unwrap();
    assert_eq!(members(0).await.unwrap().len(), 2);
    assert!(s
        .hot
        .presence_members("nobody", 0)
        .await
        .unwrap()
        .is_empty());
}

async fn online_count_forgets_players_not_seen_since(s: Subject) {
    assert_eq!(s.hot.online_count(0).await.unwrap(), 0);
    s.hot.online_touch(1, 1_000).await.unwrap();
    s.hot.online_touch(2, 2_000).await.unwrap();
    s.hot.online_touch(1, 3_000).await.unwrap();
    assert_eq!(s.hot.online_count(1_000).await.unwrap(), 2);
    assert_eq!(s.hot.online_count(2_500).await.unwrap(), 1);
    assert_eq!(
        s.hot.online_count(2_000).await.unwrap(),
        1,
        "2 was forgotten"
    );
}

async fn pairing_takes_the_closest_compatible_rating_and_widens_with_time(s: Subject) {
    let hot = &s.hot;
    hot.queue_join(1, 1200, 0).await.unwrap();
    hot.queue_join(2, 1500, 0).await.unwrap();
    assert_eq!(
        hot.queue_try_pair(1, 1_000, RULES).await.unwrap(),
        None,
        "300 apart, windows 250"
    );
    assert_eq!(
        hot.queue_try_pair(1, 2_000, RULES).await.unwrap(),
        Some(2),
        "windows 300"
    );
    assert_eq!(hot.queue_status(1, 2_000).await.unwrap(), (None, 0));
    assert_eq!(hot.queue_status(2, 2_000).await.unwrap(), (None, 0));
    hot.queue_join(3, 1200, 0).await.unwrap();
    hot.queue_join(4, 1390, 0).await.unwrap();
    hot.queue_join(5, 1250, 0).await.unwrap();
    assert_eq!(hot.queue_try_pair(3, 0, RULES).await.unwrap(), Some(5));
    assert_eq!(hot.queue_status(4, 0).await.unwrap(), (Some(1), 1));
    // The wider window of the two counts: 6 has waited 4 s (window 400), 7 just came.
    hot.queue_join(6, 1000, 0).await.unwrap();
    hot.queue_join(7, 1350, 4_000).await.unwrap();
    assert_eq!(
        hot.queue_try_pair(7, 4_000, RULES).await.unwrap(),
        Some(4),
        "40 apart"
    );
    hot.queue_join(8, 1350, 4_000).await.unwrap();
    assert_eq!(hot.queue_try_pair(8, 4_000, RULES).await.unwrap(), Some(6));
    // Windows stop widening at the cap.
    hot.queue_join(9, 1000, 0).await.unwrap();
    hot.queue_join(10, 1801, 0).await.unwrap();
    assert_eq!(hot.queue_try_pair(9, 25_000, RULES).await.unwrap(), None);
}

async fn pairing_ties_go_to_the_longest_waiting_then_the_lower_id(s: Subject) {
    let hot = &s.hot;
    // Equally close above and below: the one who joined first.
    hot.queue_join(1, 1300, 500).await.unwrap();
    hot.queue_join(2, 1100, 100).await.unwrap();
    hot.queue_join(3, 1200, 1_000).await.unwrap();
    assert_eq!(hot.queue_try_pair(3, 1_000, RULES).await.unwrap(), Some(2));
    hot.queue_leave(1).await.unwrap();
    // Same rating, same joining time: the lower id (numerically: 9 before 10).
    hot.queue_join(10, 1500, 2_000).await.unwrap();
    hot.queue_join(9, 1500, 2_000).await.unwrap();
    hot.queue_join(11, 1500, 2_000).await.unwrap();
    assert_eq!(hot.queue_try_pair(11, 2_000, RULES).await.unwrap(), Some(9));
    // A closer rating beats a longer wait.
    hot.queue_join(20, 1600, 0).await.unwrap();
    hot.queue_join(21, 1690, 2_500).await.unwrap();
    hot.queue_join(22, 1700, 3_000).await.unwrap();
    assert_eq!(
        hot.queue_try_pair(22, 3_000, RULES).await.unwrap(),
        Some(21)
    );
}

async fn pairing_marks_both_players_pending(s: Subject) {
    let hot = &s.hot;
    hot.queue_join(1, 1200, 0).await.unwrap();
    hot.queue_join(2, 1200, 0).await.unwrap();
    assert_eq!(hot.get_match(1).await.unwrap(), None);
    assert_eq!(hot.queue_try_pair(2, 1_234, RULES).await.unwrap(), Some(1));
    for player in [1, 2] {
        assert_eq!(
            hot.get_match(player).await.unwrap(),
            Some(MatchRecord::Pending { since_ms: 1_234 })
        );
    }
    assert!(PENDING_MATCH_TTL >= Duration::from_secs(10));
}

async fn an_unpaired_or_unknown_player_is_not_paired(s: Subject) {
    let hot = &s.hot;
    assert_eq!(
        hot.queue_try_pair(1, 0, RULES).await.unwrap(),
        None,
        "not queued"
    );
    hot.queue_join(1, 1200, 0).await.unwrap();
    assert_eq!(
        hot.queue_try_pair(1, 0, RULES).await.unwrap(),
        None,
        "alone"
    );
    assert_eq!(
        hot.queue_status(1, 0).await.unwrap(),
        (Some(1), 1),
        "still queued"
    );
    assert_eq!(hot.get_match(1).await.unwrap(), None);
}

async fn silent_queue_entries_expire(s: Subject) {
    let hot = &s.hot;
    hot.queue_join(1, 1200, 0).await.unwrap();
    hot.queue_join(2, 1200, 29_000).await.unwrap();
    hot.queue_join(3, 1200, 0).await.unwrap();
    assert_eq!(
        hot.queue_status(3, 10_000).await.unwrap(),
        (Some(2), 3),
        "status refreshes"
    );
    assert_eq!(hot.queue_try_pair(2, 31_000, RULES).await.unwrap(), Some(3));
    assert_eq!(hot.queue_status(1, 31_000).await.unwrap(), (None, 0));
}

async fn queue_order_is_joining_time_then_player_id(s: Subject) {
    let hot = &s.hot;
    assert!(hot.queue_players(10).await.unwrap().is_empty());
    assert_eq!(hot.queue_size().await.unwrap(), 0);
    for (player, joined) in [(10, 100), (9, 100), (100, 50), (2, 300), (11, 100)] {
        hot.queue_join(player, 1200, joined).await.unwrap();
    }
    assert_eq!(
        hot.queue_players(10).await.unwrap(),
        vec![100, 9, 10, 11, 2]
    );
    assert_eq!(hot.queue_players(2).await.unwrap(), vec![100, 9]);
    assert_eq!(hot.queue_players(3).await.unwrap(), vec![100, 9, 10]);
    assert!(hot.queue_players(0).await.unwrap().is_empty());
    for (player, position) in [(100, 1), (9, 2), (10, 3), (11, 4), (2, 5)] {
        assert_eq!(
            hot.queue_status(player, 400).await.unwrap(),
            (Some(position), 5),
            "player {player}"
        );
    }
    assert_eq!(hot.queue_status(7, 400).await.unwrap(), (None, 5));
    assert_eq!(hot.queue_size().await.unwrap(), 5);
    assert!(hot.queue_leave(9).await.unwrap());
    assert_eq!(hot.queue_size().await.unwrap(), 4);
}

async fn joining_again_keeps_the_place_and_updates_the_rating(s: Subject) {
    let hot = &s.hot;
    hot.queue_join(1, 1200, 0).await.unwrap();
    hot.queue_join(2, 1800, 100).await.unwrap();
    hot.queue_join(1, 1790, 5_000).await.unwrap();
    assert_eq!(hot.queue_players(10).await.unwrap(), vec![1, 2]);
    assert_eq!(hot.queue_status(1, 5_000).await.unwrap(), (Some(1), 2));
    assert_eq!(hot.queue_try_pair(2, 5_000, RULES).await.unwrap(), Some(1));
}

async fn leaving_the_queue(s: Subject) {
    let hot = &s.hot;
    hot.queue_join(1, 1200, 0).await.unwrap();
    hot.queue_join(2, 1200, 0).await.unwrap();
    assert!(hot.queue_leave(1).await.unwrap());
    assert!(!hot.queue_leave(1).await.unwrap(), "not queued any more");
    assert_eq!(hot.queue_status(1, 0).await.unwrap(), (None, 1));
    assert_eq!(hot.queue_players(10).await.unwrap(), vec![2]);
    assert_eq!(hot.queue_try_pair(2, 0, RULES).await.unwrap(), None);
}

async fn match_records_are_remembered_until_cleared_or_expired(s: Subject) {
    let hot = &s.hot;
    let game = MatchRecord::Game {
        game_id: "g|1".into(),
        seat: 2,
    };
    hot.set_match(1, &game, TTL).await.unwrap();
    assert_eq!(hot.get_match(1).await.unwrap(), Some(game.clone()));
    assert_eq!(hot.get_match(2).await.unwrap(), None);
    hot.clear_match(1).await.unwrap();
    assert_eq!(hot.get_match(1).await.unwrap(), None);
    hot.clear_match(1).await.unwrap();
    hot.set_match(3, &game, Duration::from_millis(30))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(hot.get_match(3).await.unwrap(), None, "expired");
    let pending = MatchRecord::Pending { since_ms: 42 };
    hot.set_match(4, &pending, TTL).await.unwrap();
    hot.set_match(4, &game, TTL).await.unwrap();
    assert_eq!(hot.get_match(4).await.unwrap(), Some(game), "replaced");
}

async fn deadlines_are_due_in_order_and_per_timer(s: Subject) {
    let hot = &s.hot;
    let away = |game_id: &str, seat| Deadline::Abandonment {
        game_id: game_id.into(),
        seat,
    };
    hot.schedule(&Deadline::turn("b"), 200).await.unwrap();
    hot.schedule(&Deadline::turn("a"), 100).await.unwrap();
    hot.schedule(&Deadline::turn("c"), 300).await.unwrap();
    hot.schedule(&away("a", 1), 150).await.unwrap();
    hot.schedule(&away("a", 2), 50).await.unwrap();
    let due = |timer, now, limit| hot.due(timer, now, limit);
    assert_eq!(
        due(Timer::TurnDeadline, 200, 10).await.unwrap(),
        vec![Deadline::turn("a"), Deadline::turn("b")],
        "due is inclusive, earliest first"
    );
    assert_eq!(
        due(Timer::TurnDeadline, 1_000, 1).await.unwrap(),
        vec![Deadline::turn("a")]
    );
    assert!(due(Timer::TurnDeadline, 1_000, 0).await.unwrap().is_empty());
    assert_eq!(
        due(Timer::Abandonment, 1_000, 10).await.unwrap(),
        vec![away("a", 2), away("a", 1)]
    );
    hot.schedule(&Deadline::turn("a"), 400).await.unwrap();
    assert_eq!(
        due(Timer::TurnDeadline, 300, 10).await.unwrap(),
        vec![Deadline::turn("b"), Deadline::turn("c")],
        "scheduling again moves the deadline"
    );
    hot.unschedule(&Deadline::turn("b")).await.unwrap();
    hot.unschedule(&away("a", 2)).await.unwrap();
    hot.unschedule(&away("zz", 1)).await.unwrap();
    assert_eq!(
        due(Timer::TurnDeadline, 300, 10).await.unwrap(),
        vec![Deadline::turn("c")]
    );
    assert_eq!(
        due(Timer::Abandonment, 1_000, 10).await.unwrap(),
        vec![away("a", 1)]
    );
}

async fn clocks_are_armed_only_once_marked(s: Subject) {
    assert!(!s.hot.clocks_armed().await.unwrap(), "a fresh store");
    s.hot.mark_clocks_armed().await.unwrap();
    assert!(s.hot.clocks_armed().await.unwrap());
    s.hot.mark_clocks_armed().await.unwrap();
    assert!(s.hot.clocks_armed().await.unwrap());
}

async fn attempts_count_in_a_window_that_closes_on_its_own(s: Subject) {
    let key = s.keys.login_attempts("Alice");
    let window = Duration::from_millis(1_000);
    for expected in 1..=3 {
        let (attempts, left) = s.hot.count_attempt(&key, window).await.unwrap();
        assert_eq!(attempts, expected);
        assert!(left <= window && left > Duration::ZERO, "{left:?}");
    }
    let other = s.keys.login_attempts("bob");
    assert_eq!(s.hot.count_attempt(&other, window).await.unwrap().0, 1);
    tokio::time::sleep(window + Duration::from_millis(100)).await;
    let (attempts, left) = s.hot.count_attempt(&key, window).await.unwrap();
    assert_eq!(attempts, 1, "a new window");
    assert!(left > Duration::from_millis(500), "{left:?}");
    s.hot.count_attempt(&key, window).await.unwrap();
    s.hot.clear_attempts(&key).await.unwrap();
    assert_eq!(s.hot.count_attempt(&key, window).await.unwrap().0, 1);
    s.hot.clear_attempts("never counted").await.unwrap();
}

async fn ping_answers(s: Subject) {
    s.hot.ping().await.unwrap();
}

/// Values in the `|`-joined encoding of earlier versions, as an instance not yet
/// replaced in a rolling deploy writes them, are ignored rather than misread.
#[tokio::test]
async fn redis_values_of_the_old_encoding_are_ignored() {
    let s = Subject::redis().await;
    let url = &s.redis_keys.as_ref().expect("a Redis subject").url;
    let client = redis::Client::open(url.as_str()).expect("redis url");
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::pipe()
        .zadd(s.keys.timers(Timer::Abandonment), "g|1", 10)
        .ignore()
        .zadd(s.keys.game_presence("g"), "1|old-instance|7", 10)
        .ignore()
        .set(s.keys.queue_match(5), "pending:10")
        .ignore()
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(s
        .hot
        .due(Timer::Abandonment, 100, 10)
        .await
        .unwrap()
        .is_empty());
    let left: u64 = redis::cmd("ZCARD")
        .arg(s.keys.timers(Timer::Abandonment))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0, "an unreadable timer leaves the index");
    assert!(s.hot.presence_members("g", 0).await.unwrap().is_empty());
    assert_eq!(s.hot.get_match(5).await.unwrap(), None);
}
