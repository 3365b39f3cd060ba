//! The HTTP surface: poem-openapi resources (one file per resource), the WebSocket
//! (`ws.rs`), `/metrics`, Swagger UI at `/docs`, the spec at `/openapi.json` and the
//! single-page app from `STATIC_DIR` at `/`. Handlers are thin: parse, authenticate,
//! call one `service` function, map its result. Errors become JSON in `error.rs`;
//! every response carries the security headers of `headers.rs`.

mod analysis;
mod auth;
mod client;
pub mod error;
mod games;
mod headers;
mod health;
mod leaderboard;
mod matchmaking;
mod players;
mod profiles;
mod sessions;
mod stats;
pub mod ws;

use std::{path::Path, sync::Arc};

use poem::{
    endpoint::{StaticFileEndpoint, StaticFilesEndpoint},
    get, handler,
    http::{header, StatusCode},
    web::Data,
    Endpoint, EndpointExt, IntoResponse, Request, Response, Route,
};
use poem_openapi::{OpenApiService, Tags};

use crate::{service::AppState, telemetry::LiveGauges};

/// Largest accepted request body.
pub const MAX_BODY: usize = 16 * 1024;

#[derive(Tags)]
pub enum ApiTags {
    /// Registration, log-in, statistics, leaderboard
    Players,
    /// Game lifecycle, moves and the read side of games
    Games,
    /// Cluster-wide counters and presence
    Stats,
    /// Health probes
    Operations,
}

/// The OpenAPI service listing every REST endpoint.
pub fn openapi(state: &Arc<AppState>) -> OpenApiService<impl poem_openapi::OpenApi, ()> {
    let api = (
        players::PlayersApi {
            state: Arc::clone(state),
        },
        sessions::SessionsApi {
            state: Arc::clone(state),
        },
        games::GamesApi {
            state: Arc::clone(state),
        },
        leaderboard::LeaderboardApi {
            state: Arc::clone(state),
        },
        matchmaking::MatchmakingApi {
            state: Arc::clone(state),
        },
        stats::StatsApi {
            state: Arc::clone(state),
        },
        health::HealthApi {
            state: Arc::clone(state),
        },
        profiles::ProfilesApi {
            state: Arc::clone(state),
        },
        analysis::AnalysisApi {
            state: Arc::clone(state),
        },
    );
    OpenApiService::new(api, "Connect 4 Arena", env!("CARGO_PKG_VERSION"))
        .description(
            "Real-time Connect 4. Errors are JSON `{\"error\", \"code\"}`. The WebSocket protocol \
             at `/ws/{game_id}` is described in docs/API.md.",
        )
        .server("/")
}

/// Every route of an instance.
pub fn routes(state: Arc<AppState>) -> impl Endpoint {
    let api = openapi(&state);
    let policies = Arc::new(headers::Policies::new(&api.swagger_ui_html()));
    let mut route = Route::new()
        .nest("/docs", api.swagger_ui())
        .at("/openapi.json", api.spec_endpoint())
        .at("/metrics", get(metrics))
        .at("/ws/lobby", get(ws::lobby_socket))
        .at("/ws/:game_id", get(ws::game_socket));
    route = mount_static(route.nest("/", api), &state.config.static_dir);
    route
        .around(limit_body)
        .around(serve_index)
        .data(state)
        .catch_all_error(|err| async move { error::render_error(err) })
        .around(move |next, req| headers::security_headers(next, req, Arc::clone(&policies)))
}

/// The API owns the root of the path space (it is nested at `/`), so the app's entry
/// page is reached by rewriting `/` to `/index.html` before routing.
async fn serve_index<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    if req.uri().path() == "/" {
        let target = match req.uri().query() {
            Some(query) => format!("/index.html?{query}"),
            None => "/index.html".to_string(),
        };
        if let Ok(uri) = target.parse() {
            *req.uri_mut() = uri;
        }
    }
    Ok(next.call(req).await?.into_response())
}

/// Refuses bodies over [`MAX_BODY`] (413) whether or not they declare their length.
async fn limit_body<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_BODY) {
        return Err(poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE));
    }
    if declared.is_none() && req.headers().contains_key(header::TRANSFER_ENCODING) {
        let body = req
            .take_body()
            .into_bytes_limit(MAX_BODY)
            .await
            .map_err(|_| poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE))?;
        req.set_body(body);
    }
    Ok(next.call(req).await?.into_response())
}

/// Serves the single-page app: `/` is `index.html`, and each entry of the static
/// folder is mounted at its own name (the API owns every other path).
fn mount_static(mut route: Route, dir: &Path) -> Route {
    let index = dir.join("index.html");
    if index.is_file() {
        route = route.at("/index.html", StaticFileEndpoint::new(&index));
    } else {
        tracing::warn!(dir = %dir.display(), "no index.html: the web app is not served");
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return route;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        if name == "index.html" || name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            route = route.nest(format!("/{name}"), StaticFilesEndpoint::new(&path));
        } else {
            route = route.at(format!("/{name}"), StaticFileEndpoint::new(&path));
        }
    }
    route
}

/// Prometheus metrics of this instance.
#[handler]
async fn metrics(state: Data<&Arc<AppState>>) -> Response {
    let stats = state.views.cluster_stats().await.ok();
    let live = LiveGauges {
        games_active: stats.as_ref().map_or(0, |s| s.active_games),
        matchmaking_queue_size: stats.as_ref().map_or(0, |s| s.queue_size),
    };

    state
        .metrics
        .render(state.instance(), &live)
        .with_content_type(crate::telemetry::CONTENT_TYPE)
        .into_response()
}
