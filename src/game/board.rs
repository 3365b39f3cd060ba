#![allow(unused)]
pub const ROWS: usize = 6;
pub const COLUMNS: usize = 7;
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Seat {
    One,
    Two,
}
impl Seat {
    pub fn number(self) -> u8 {
        match self {
            Seat::One => 1,
            Seat::Two => 2,
        }
    }
    pub fn from_number(n: u8) -> Option<Seat> {
        match n {
            1 => Some(Seat::One),
            2 => Some(Seat::Two),
            _ => None,
        }
    }
    pub fn other(self) -> Seat {
        match self {
            Seat::One => Seat::Two,
            Seat::Two => Seat::One,
        }
    }
}
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cell {
    pub row: u8,
    pub column: u8,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    InProgress,
    Won { seat: Seat, cells: Vec<Cell> },
    Draw,
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveError {
    ColumnOutOfRange,
    ColumnFull,
    GameOver,
    WrongTurn,
}
impl std::fmt::Display for MoveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}
impl std::error::Error for MoveError {}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub seat: Seat,
    pub column: u8,
    pub row: u8,
    pub move_number: u32,
    pub outcome: Outcome,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Board {
    grid: [[u8; 7]; 6],
    moves: Vec<u8>,
    outcome: Outcome,
}
impl Default for Board {
    fn default() -> Self {
        Board {
            grid: [[0; 7]; 6],
            moves: vec![],
            outcome: Outcome::InProgress,
        }
    }
}
impl Board {
    pub fn new() -> Board {
        Board::default()
    }
    pub fn from_moves(columns: &[u8]) -> Result<Board, (usize, MoveError)> {
        let mut b = Board::new();
        for (i, c) in columns.iter().enumerate() {
            b.play(*c).map_err(|e| (i, e))?;
        }
        Ok(b)
    }
    pub fn play(&mut self, column: u8) -> Result<Placement, MoveError> {
        let s = self.next_seat();
        self.play_as(s, column)
    }
    pub fn play_as(&mut self, seat: Seat, column: u8) -> Result<Placement, MoveError> {
        if column as usize >= COLUMNS {
            return Err(MoveError::ColumnOutOfRange);
        }
        if self.is_over() {
            return Err(MoveError::GameOver);
        }
        if seat != self.next_seat() {
            return Err(MoveError::WrongTurn);
        }
        let Some(row) = (0..6).rev().find(|r| self.grid[*r][column as usize] == 0) else {
            return Err(MoveError::ColumnFull);
        };
        self.grid[row][column as usize] = seat.number();
        self.moves.push(column);
        let n = seat.number();
        let mut cells = vec![];
        for (dr, dc) in [(0i32, 1i32), (1, 0), (1, 1), (1, -1)] {
            let mut line = vec![Cell {
                row: row as u8,
                column,
            }];
            for sign in [1, -1] {
                let (mut r, mut c) = (row as i32 + dr * sign, column as i32 + dc * sign);
                while (0..6).contains(&r)
                    && (0..7).contains(&c)
                    && self.grid[r as usize][c as usize] == n
                {
                    line.push(Cell {
                        row: r as u8,
                        column: c as u8,
                    });
                    r += dr * sign;
                    c += dc * sign;
                }
            }
            if line.len() >= 4 {
                cells.extend(line);
            }
        }
        cells.sort_by_key(|c| (c.row, c.column));
        cells.dedup();
        if !cells.is_empty() {
            self.outcome = Outcome::Won { seat, cells }
        } else if self.moves.len() == 42 {
            self.outcome = Outcome::Draw
        }
        Ok(Placement {
            seat,
            column,
            row: row as u8,
            move_number: self.moves.len() as u32,
            outcome: self.outcome.clone(),
        })
    }
    pub fn next_seat(&self) -> Seat {
        if self.moves.len() % 2 == 0 {
            Seat::One
        } else {
            Seat::Two
        }
    }
    pub fn cell(&self, row: u8, column: u8) -> Option<Seat> {
        Seat::from_number(self.grid[row as usize][column as usize])
    }
    pub fn grid(&self) -> [[u8; COLUMNS]; ROWS] {
        self.grid
    }
    pub fn moves(&self) -> &[u8] {
        &self.moves
    }
    pub fn move_count(&self) -> usize {
        self.moves.len()
    }
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }
    pub fn is_over(&self) -> bool {
        self.outcome != Outcome::InProgress
    }
    pub fn can_play(&self, column: u8) -> bool {
        (column as usize) < COLUMNS && !self.is_over() && self.grid[0][column as usize] == 0
    }
    pub fn replay_to(&self, step: usize) -> Board {
        Board::from_moves(&self.moves[..step.min(self.moves.len())]).unwrap_or_default()
    }
}
