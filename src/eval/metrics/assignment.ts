import { SpikedriveError } from '../../util/index.ts';

/** Result of {@link linearSumAssignment}: matched row and column indices, rows ascending. */
export interface Assignment {
  rows: number[];
  cols: number[];
}

/**
 * Minimum-cost assignment of a rectangular cost matrix, with the behaviour of `scipy.optimize.
 * linear_sum_assignment` (what the reference's temporal instance matching calls): min(nRows, nCols) pairs,
 * rows returned in ascending order. Hand-written rather than taken from npm because which of several
 * equally cheap assignments comes back decides instance ids, so this follows the same shortest augmenting
 * path method (Crouse 2016, Jonker–Volgenant style) with the same scan order and tie rule as scipy's.
 *
 * `cost` is row-major `[nRows, nCols]`.
 */
export function linearSumAssignment(cost: ArrayLike<number>, nRows: number, nCols: number): Assignment {
  if (!Number.isInteger(nRows) || !Number.isInteger(nCols) || nRows < 0 || nCols < 0) {
    throw new SpikedriveError(`Cost matrix shape ${nRows}×${nCols} is not valid.`, {
      subject: 'cost',
      fix: 'Pass whole, non-negative row and column counts.',
    });
  }
  if (cost.length !== nRows * nCols) {
    throw new SpikedriveError(`Cost matrix has ${cost.length} entries, expected ${nRows}×${nCols}.`, {
      subject: 'cost',
      fix: 'Pass the cost matrix flat in row-major order.',
    });
  }
  for (let k = 0; k < cost.length; k++) {
    const c = cost[k];
    if (Number.isNaN(c) || c === Number.NEGATIVE_INFINITY) {
      throw new SpikedriveError(`Cost matrix entry ${k} is ${c}.`, {
        subject: 'cost',
        fix: 'Costs must be numbers or +Infinity (forbidden pairs); check the inputs for NaN.',
      });
    }
  }
  if (nRows === 0 || nCols === 0) return { rows: [], cols: [] };

  // Work on the orientation with no more rows than columns.
  const transpose = nCols < nRows;
  const nr = transpose ? nCols : nRows;
  const nc = transpose ? nRows : nCols;
  const c = new Float64Array(nr * nc);
  for (let i = 0; i < nRows; i++) {
    for (let j = 0; j < nCols; j++) {
      if (transpose) c[j * nc + i] = cost[i * nCols + j];
      else c[i * nc + j] = cost[i * nCols + j];
    }
  }

  const u = new Float64Array(nr);
  const v = new Float64Array(nc);
  const shortestPathCosts = new Float64Array(nc);
  const path = new Int32Array(nc).fill(-1);
  const col4row = new Int32Array(nr).fill(-1);
  const row4col = new Int32Array(nc).fill(-1);
  const rowVisited = new Uint8Array(nr);
  const colVisited = new Uint8Array(nc);
  const remaining = new Int32Array(nc);

  for (let currentRow = 0; currentRow < nr; currentRow++) {
    // Dijkstra-like search for the cheapest augmenting path from currentRow to a free column.
    let minValue = 0;
    let numRemaining = nc;
    for (let it = 0; it < nc; it++) remaining[it] = nc - it - 1;
    rowVisited.fill(0);
    colVisited.fill(0);
    shortestPathCosts.fill(Number.POSITIVE_INFINITY);
    let sink = -1;
    let i = currentRow;
    while (sink === -1) {
      let index = -1;
      let lowest = Number.POSITIVE_INFINITY;
      rowVisited[i] = 1;
      for (let it = 0; it < numRemaining; it++) {
        const j = remaining[it];
        const reduced = minValue + c[i * nc + j] - u[i] - v[j];
        if (reduced < shortestPathCosts[j]) {
          path[j] = i;
          shortestPathCosts[j] = reduced;
        }
        // Among equally cheap columns prefer a free one: it ends the search (scipy's tie rule).
        if (shortestPathCosts[j] < lowest || (shortestPathCosts[j] === lowest && row4col[j] === -1)) {
          lowest = shortestPathCosts[j];
          index = it;
        }
      }
      minValue = lowest;
      if (minValue === Number.POSITIVE_INFINITY) {
        throw new SpikedriveError('The cost matrix has no finite-cost complete assignment.', {
          subject: 'cost',
          fix: 'Use large finite costs instead of Infinity for pairs that should rarely match.',
        });
      }
      const j = remaining[index];
      if (row4col[j] === -1) sink = j;
      else i = row4col[j];
      colVisited[j] = 1;
      numRemaining -= 1;
      remaining[index] = remaining[numRemaining];
    }

    // Update the dual variables, then augment along the path.
    u[currentRow] += minValue;
    for (let r = 0; r < nr; r++) {
      if (rowVisited[r] && r !== currentRow) u[r] += minValue - shortestPathCosts[col4row[r]];
    }
    for (let j = 0; j < nc; j++) {
      if (colVisited[j]) v[j] -= minValue - shortestPathCosts[j];
    }
    let j = sink;
    for (;;) {
      const r = path[j];
      row4col[j] = r;
      const previous = col4row[r];
      col4row[r] = j;
      j = previous;
      if (r === currentRow) break;
    }
  }

  if (!transpose) return { rows: Array.from({ length: nr }, (_, r) => r), cols: Array.from(col4row) };
  // Transposed: the matched original rows are col4row; return them ascending with their columns.
  const order = Array.from({ length: nr }, (_, k) => k).sort((a, b) => col4row[a] - col4row[b]);
  return { rows: order.map((k) => col4row[k]), cols: order };
}
