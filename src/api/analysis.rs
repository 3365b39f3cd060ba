//! `/games/{id}/analysis` and `/analysis`: the solver's verdict on each move of a
//! stored game or of any move list (see `service/analysis.rs`).

use std::sync::Arc;

use poem_openapi::{param::Path, payload::Json, Object, OpenApi};

use super::{error::ApiError, ApiTags};
use crate::service::{analysis::GameAnalysis, AppState, GameId, ServiceError};

/// A move list to analyse.
#[derive(Object)]
pub struct AnalysisRequest {
    /// The columns played, in order, 0 (left) to 6 (right): a legal game of at most 42 moves.
    #[oai(validator(max_items = 42))]
    pub moves: Vec<i64>,
}

pub struct AnalysisApi {
    pub state: Arc<AppState>,
}

#[OpenApi(tag = "ApiTags::Games")]
impl AnalysisApi {
    /// Analyse a game
    ///
    /// For each ply: the score before the move, the best columns, the played move's score
    /// and a verdict; positions the solver cannot settle within its budget are marked unsolved.
    #[oai(path = "/games/:id/analysis", method = "get")]
    async fn game(&self, id: Path<String>) -> Result<Json<GameAnalysis>, ApiError> {
        let game_id = GameId::parse(&id.0)?;
        Ok(Json(self.state.analysis.game(&game_id).await?))
    }

    /// Analyse a move list
    ///
    /// The same analysis for any legal sequence of moves (0-based columns).
    #[oai(path = "/analysis", method = "post")]
    async fn moves(&self, body: Json<AnalysisRequest>) -> Result<Json<GameAnalysis>, ApiError> {
        let moves = body
            .moves
            .iter()
            .map(|&column| u8::try_from(column).ok().filter(|&c| c < 7))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| {
                ServiceError::InvalidMoveList("every move must be a column from 0 to 6".into())
            })?;
        Ok(Json(self.state.analysis.moves(moves).await?))
    }
}
