/**
 * The token of every row of a big table, with an O(1) token → row index.
 *
 * Real tokens are 32 lowercase hex digits (uuid4), so each is packed into four uint32 words (16 bytes)
 * and looked up through an open-addressing hash table of row numbers. Hand-written because a JS
 * `Map<string, number>` over trainval's 6.4 M big-table tokens costs about 1.4 GB of heap (string plus
 * entry per token), this about 150 MB outside the heap. A token of any other shape (tokens are opaque to
 * the devkit) switches the column to plain strings and a `Map`, so any dataset still loads.
 */

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[0x30 + i] = i;
for (let i = 0; i < 6; i++) HEX_VALUE[0x61 + i] = 10 + i;
const HEX_DIGITS = '0123456789abcdef';
const BYTE_HEX: string[] = Array.from({ length: 256 }, (_, b) => HEX_DIGITS[b >> 4] + HEX_DIGITS[b & 15]);

/** Packs a 32-hex token into out[0..3]; false if the token is not 32 lowercase hex digits. */
function packToken(token: string, out: Uint32Array, at: number): boolean {
  if (token.length !== 32) return false;
  for (let w = 0; w < 4; w++) {
    let word = 0;
    for (let k = 0; k < 8; k++) {
      const c = token.charCodeAt(w * 8 + k);
      const v = c < 128 ? HEX_VALUE[c] : -1;
      if (v < 0) return false;
      word = (word << 4) | v;
    }
    out[at + w] = word >>> 0;
  }
  return true;
}

function unpackToken(words: Uint32Array, at: number): string {
  let s = '';
  for (let w = 0; w < 4; w++) {
    const word = words[at + w];
    s +=
      BYTE_HEX[word >>> 24] +
      BYTE_HEX[(word >>> 16) & 255] +
      BYTE_HEX[(word >>> 8) & 255] +
      BYTE_HEX[word & 255];
  }
  return s;
}

function hashWords(a: number, b: number, c: number, d: number): number {
  // Tokens are random already; mixing guards against structured synthetic tokens.
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ b ^ (h >>> 15), 0xc2b2ae35);
  h = Math.imul(h ^ c ^ (h >>> 13), 0x27d4eb2f);
  h = Math.imul(h ^ d ^ (h >>> 16), 0x165667b1);
  return (h ^ (h >>> 15)) >>> 0;
}

export class TokenColumn {
  private words: Uint32Array;
  private strings: string[] | undefined;
  private stringIndex: Map<string, number> | undefined;
  private slots: Int32Array = new Int32Array(0);
  private mask = 0;
  private readonly scratch = new Uint32Array(4);
  length = 0;

  constructor(capacity = 0) {
    this.words = new Uint32Array(Math.max(1, capacity) * 4);
  }

  /** True while every token so far was 32 lowercase hex (packed storage). */
  get packed(): boolean {
    return this.strings === undefined;
  }

  reserve(rows: number): void {
    if (this.strings || rows * 4 <= this.words.length) return;
    const next = new Uint32Array(rows * 4);
    next.set(this.words.subarray(0, this.length * 4));
    this.words = next;
  }

  /** Appends a token; the index must be rebuilt (`buildIndex`) before lookups see it. */
  push(token: string): number {
    const row = this.length;
    if (this.strings) {
      this.strings.push(token);
    } else {
      if ((row + 1) * 4 > this.words.length) this.reserve(Math.ceil((row + 1) * 1.5) + 16);
      if (!packToken(token, this.words, row * 4)) this.toStrings().push(token);
    }
    this.length++;
    return row;
  }

  private toStrings(): string[] {
    const strings: string[] = [];
    for (let row = 0; row < this.length; row++) strings.push(unpackToken(this.words, row * 4));
    this.strings = strings;
    this.words = new Uint32Array(0);
    this.slots = new Int32Array(0);
    return strings;
  }

  get(row: number): string {
    if (this.strings) return this.strings[row];
    return unpackToken(this.words, row * 4);
  }

  /**
   * Builds the token → row index. Returns the first duplicated token's two rows, if any (the devkit
   * would silently keep the later row; we report it).
   */
  buildIndex(): { token: string; first: number; second: number } | undefined {
    if (this.strings) {
      const index = new Map<string, number>();
      for (let row = 0; row < this.strings.length; row++) {
        const token = this.strings[row];
        const seen = index.get(token);
        if (seen !== undefined) return { token, first: seen, second: row };
        index.set(token, row);
      }
      this.stringIndex = index;
      return undefined;
    }
    if (this.words.length > this.length * 4 * 1.125) this.words = this.words.slice(0, this.length * 4);
    let capacity = 16;
    while (capacity < this.length * 2) capacity *= 2;
    this.slots = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
    const w = this.words;
    for (let row = 0; row < this.length; row++) {
      const at = row * 4;
      let slot = hashWords(w[at], w[at + 1], w[at + 2], w[at + 3]) & this.mask;
      for (;;) {
        const other = this.slots[slot];
        if (other < 0) {
          this.slots[slot] = row;
          break;
        }
        const o = other * 4;
        if (w[o] === w[at] && w[o + 1] === w[at + 1] && w[o + 2] === w[at + 2] && w[o + 3] === w[at + 3]) {
          return { token: this.get(row), first: other, second: row };
        }
        slot = (slot + 1) & this.mask;
      }
    }
    return undefined;
  }

  /** The row of a token, or -1. */
  find(token: string): number {
    if (this.stringIndex) return this.stringIndex.get(token) ?? -1;
    if (this.strings) throw new Error('TokenColumn.find before buildIndex');
    const s = this.scratch;
    if (!packToken(token, s, 0) || this.slots.length === 0) return -1;
    const w = this.words;
    let slot = hashWords(s[0], s[1], s[2], s[3]) & this.mask;
    for (;;) {
      const row = this.slots[slot];
      if (row < 0) return -1;
      const o = row * 4;
      if (w[o] === s[0] && w[o + 1] === s[1] && w[o + 2] === s[2] && w[o + 3] === s[3]) return row;
      slot = (slot + 1) & this.mask;
    }
  }

  get byteLength(): number {
    return this.words.byteLength + this.slots.byteLength;
  }
}
