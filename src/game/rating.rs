pub const K_FACTOR: f64 = 32.0;
pub const INITIAL_RATING: i32 = 1200;
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GameScore {
    SeatOneWins,
    SeatTwoWins,
    Draw,
}
pub fn rating_changes(a: i32, b: i32, score: GameScore) -> (i32, i32) {
    let ea = 1.0 / (1.0 + 10f64.powf((b - a) as f64 / 400.0));
    let sa = match score {
        GameScore::SeatOneWins => 1.0,
        GameScore::SeatTwoWins => 0.0,
        GameScore::Draw => 0.5,
    };
    (
        (K_FACTOR * (sa - ea)).round() as i32,
        (K_FACTOR * ((1.0 - sa) - (1.0 - ea))).round() as i32,
    )
}
