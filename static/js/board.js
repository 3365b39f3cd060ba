// Drawing a 6x7 board: used by the live game and the replay.
//
// The server's board is the truth: `render` redraws every cell from a
// `board[row][col]` matrix (row 0 at the top, 0 empty, 1 / 2 the seats); `drop`
// only animates a disc the matrix already contains.
//
// For assistive technology the board is an ARIA grid: six rows of seven cells, each
// cell labelled with its name and content ("d1, red disc"). A focusable board marks
// the column under its keyboard cursor as the active descendant.

import { cellName, SEAT_COLOUR } from "./notation.js";
import { h } from "./ui.js";

export const ROWS = 6;
export const COLS = 7;

export function emptyBoard() {
  return Array.from({ length: ROWS }, () => Array(COLS).fill(0));
}

/** True when `board` is a 6x7 matrix of 0 / 1 / 2. */
export function isBoard(board) {
  return (
    Array.isArray(board) &&
    board.length === ROWS &&
    board.every((row) => Array.isArray(row) && row.length === COLS && row.every((v) => v === 0 || v === 1 || v === 2))
  );
}

export class BoardView {
  /**
   * @param {HTMLElement} boardEl the grid container
   * @param {HTMLElement|null} hoverRowEl the row of column indicators above the grid (live game only)
   */
  constructor(boardEl, hoverRowEl = null) {
    this.boardEl = boardEl;
    this.hoverRowEl = hoverRowEl;
    this.cells = [];
    this.indicators = [];
    this.board = emptyBoard();
    this.build();
  }

  build() {
    this.cells = [];
    const cells = [];
    const rows = [];
    const prefix = this.boardEl.dataset.testid || "board";
    for (let row = 0; row < ROWS; row++) {
      const rowEl = h("div", { class: "board-row", role: "row" });
      for (let col = 0; col < COLS; col++) {
        const cell = h(
          "div",
          {
            class: "cell",
            role: "gridcell",
            id: `${prefix}-${row}-${col}`,
            dataset: { testid: "cell", row: String(row), col: String(col) },
            "aria-label": `${cellName(row, col)}, empty`,
          },
          h("i", { class: "disc", "aria-hidden": "true" }),
        );
        cell.style.setProperty("--enter-delay", `${(row + col) * 18}ms`);
        cells.push(cell);
        rowEl.append(cell);
      }
      rows.push(rowEl);
    }
    this.cells = cells;
    this.boardEl.replaceChildren(...rows);
    this.boardEl.classList.add("fresh");
    setTimeout(() => this.boardEl.classList.remove("fresh"), 600);

    if (this.hoverRowEl) {
      this.indicators = Array.from({ length: COLS }, (_, col) =>
        h("div", { class: "hover-indicator", dataset: { testid: "hover-indicator", col: String(col) } }, h("i", { class: "disc" })),
      );
      this.hoverRowEl.replaceChildren(...this.indicators);
    }
    this.board = emptyBoard();
  }

  cell(row, col) {
    return this.cells[row * COLS + col];
  }

  /** Redraws every cell from `board`; marks the last move and the winning line. */
  render(board, { lastMove = null, winningCells = [] } = {}) {
    this.board = board.map((row) => row.slice());
    for (let row = 0; row < ROWS; row++) {
      for (let col = 0; col < COLS; col++) {
        const cell = this.cell(row, col);
        const value = board[row][col];
        cell.classList.toggle("p1", value === 1);
        cell.classList.toggle("p2", value === 2);
        cell.classList.remove("last-move", "win", "dimmed", "dropping");
        cell.dataset.player = String(value);
        cell.setAttribute("aria-label", `${cellName(row, col)}, ${value ? `${SEAT_COLOUR[value]} disc` : "empty"}`);
      }
    }
    this.markLastMove(lastMove);
    this.markWinningCells(winningCells);
  }

  markLastMove(lastMove) {
    for (const cell of this.cells) cell.classList.remove("last-move");
    if (lastMove && Number.isInteger(lastMove.row) && Number.isInteger(lastMove.column)) {
      const cell = this.cell(lastMove.row, lastMove.column);
      if (cell) cell.classList.add("last-move");
    }
  }

  /** Marks the cell each of `columns` would take next (the solver's best moves). */
  markBest(columns) {
    for (const cell of this.cells) {
      cell.classList.remove("best-move");
      delete cell.dataset.best;
    }
    for (const col of Array.isArray(columns) ? columns : []) {
      if (this.isColumnFull(col)) continue;
      const cell = this.cell(this.landingRow(col), col);
      if (cell) {
        cell.classList.add("best-move");
        cell.dataset.best = "true";
      }
    }
  }

  markWinningCells(winningCells) {
    const cells = Array.isArray(winningCells) ? winningCells : [];
    if (cells.length === 0) return;
    for (const cell of this.cells) {
      if (cell.dataset.player !== "0") cell.classList.add("dimmed");
    }
    cells.forEach(([row, col], i) => {
      const cell = this.cell(row, col);
      if (!cell) return;
      cell.classList.remove("dimmed");
      cell.classList.add("win");
      cell.style.setProperty("--win-delay", `${i * 90}ms`);
    });
  }

  /** Animates the disc at (row, col) falling from above the board. */
  drop(row, col) {
    const cell = this.cell(row, col);
    if (!cell) return;
    cell.style.setProperty("--drop-rows", String(row + 1));
    cell.classList.remove("dropping");
    // Restart the animation when the same cell is redrawn.
    void cell.offsetWidth;
    cell.classList.add("dropping");
    cell.addEventListener("animationend", () => cell.classList.remove("dropping"), { once: true });
  }

  isColumnFull(col) {
    return this.board[0][col] !== 0;
  }

  /** The row a disc dropped in `col` lands on (the top row when the column is full). */
  landingRow(col) {
    for (let row = ROWS - 1; row >= 0; row--) if (this.board[row][col] === 0) return row;
    return 0;
  }

  /** Marks column `col` as the keyboard cursor (null: none): outlined, and the active descendant. */
  setCursor(col) {
    for (const cell of this.cells) {
      cell.classList.toggle("cursor", col !== null && Number(cell.dataset.col) === col);
    }
    if (col === null) this.boardEl.removeAttribute("aria-activedescendant");
    else this.boardEl.setAttribute("aria-activedescendant", this.cell(this.landingRow(col), col).id);
  }

  /** Lights column `col` for `seat` (1 / 2); null clears it. */
  setHover(col, seat) {
    this.indicators.forEach((indicator, i) => {
      const on = i === col;
      indicator.classList.toggle("active", on);
      indicator.classList.toggle("p1", on && seat === 1);
      indicator.classList.toggle("p2", on && seat === 2);
    });
    for (const cell of this.cells) {
      cell.classList.toggle("col-hover", col !== null && Number(cell.dataset.col) === col);
    }
  }
}
