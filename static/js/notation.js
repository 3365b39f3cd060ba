// The one way the app names columns, cells and moves (also in docs/API.md): columns
// are the letters a–g from left to right (the API's column 0–6), rows are numbered
// 1–6 from the bottom, so "d1" is the bottom cell of the middle column; a game's moves
// are listed by number, "1. d 2. d 3. e".

export const COLUMN_LETTERS = "abcdefg";

/** "a".."g" for API column 0..6. */
export function columnName(col) {
  return COLUMN_LETTERS[col] ?? "?";
}

/** "d1" for the board's row 5 (the bottom), column 3. */
export function cellName(row, col) {
  return `${columnName(col)}${6 - row}`;
}

/** The API column (0–6) for a column letter, or null. */
export function columnOfLetter(letter) {
  const col = COLUMN_LETTERS.indexOf(String(letter).toLowerCase());
  return col >= 0 && String(letter).length === 1 ? col : null;
}

export const SEAT_COLOUR = { 1: "red", 2: "yellow" };
