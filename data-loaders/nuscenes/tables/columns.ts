/**
 * Growable typed-array columns for the big tables (trainval: 2.6 M sample_data and ego_pose rows, 1.2 M
 * annotations). A typed array holds a number in 4–8 bytes outside the JS heap, where a plain record
 * object costs hundreds of bytes of heap per row; that is what keeps trainval in well under 1 GB.
 */

type TypedArray = Float64Array | Int32Array | Uint32Array | Uint8Array | Int8Array;
type TypedArrayConstructor<T extends TypedArray> = new (length: number) => T;

/** A column of fixed-width numeric cells (`width` numbers per row). */
export class NumberColumn<T extends TypedArray> {
  data: T;
  length = 0;
  readonly width: number;
  private readonly ctor: TypedArrayConstructor<T>;

  constructor(ctor: TypedArrayConstructor<T>, width: number, capacity: number) {
    this.ctor = ctor;
    this.width = width;
    this.data = new ctor(Math.max(1, capacity) * width);
  }

  reserve(rows: number): void {
    if (rows * this.width <= this.data.length) return;
    const next = new this.ctor(rows * this.width);
    next.set(this.data.subarray(0, this.length * this.width) as never);
    this.data = next;
  }

  /** Makes room for one more row and returns its index. */
  grow(): number {
    if ((this.length + 1) * this.width > this.data.length) {
      this.reserve(Math.ceil((this.length + 1) * 1.5) + 16);
    }
    return this.length++;
  }

  push(value: number): number {
    const row = this.grow();
    this.data[row * this.width] = value;
    return row;
  }

  get(row: number, k = 0): number {
    return this.data[row * this.width + k];
  }

  set(row: number, k: number, value: number): void {
    this.data[row * this.width + k] = value;
  }

  /** Drops unused capacity (copies only when more than an eighth would be wasted). */
  trim(): void {
    const used = this.length * this.width;
    if (this.data.length - used > this.data.length / 8) {
      this.data = this.data.slice(0, used) as T;
    }
  }

  get byteLength(): number {
    return this.data.byteLength;
  }
}

/** Strings from a small vocabulary (fileformat, a channel): one byte-sized id per row. */
export class DictionaryColumn {
  readonly values: string[] = [];
  private readonly ids = new Map<string, number>();
  readonly column: NumberColumn<Int32Array>;

  constructor(capacity: number) {
    this.column = new NumberColumn(Int32Array, 1, capacity);
  }

  idOf(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.ids.set(value, id);
    }
    return id;
  }

  push(value: string): void {
    this.column.push(this.idOf(value));
  }

  get(row: number): string {
    return this.values[this.column.data[row]];
  }

  reserve(rows: number): void {
    this.column.reserve(rows);
  }

  trim(): void {
    this.column.trim();
  }

  get byteLength(): number {
    return this.column.byteLength;
  }
}

/**
 * File names such as `sweeps/CAM_FRONT/n015-2018-07-24-11-22-45+0800__CAM_FRONT__1532402927612460.jpg`:
 * the part before the last run of digits and the part after it come from a few thousand distinct values
 * (folder × channel × log), so each is a dictionary id and the digits one float64 (exact below 2^53).
 * Names of any other shape are kept verbatim on the side, so every string round-trips exactly.
 */
export class PathColumn {
  private readonly prefixes = new DictionaryColumn(0);
  private readonly suffixes = new DictionaryColumn(0);
  private readonly prefixIds: NumberColumn<Int32Array>;
  private readonly suffixIds: NumberColumn<Int32Array>;
  private readonly numbers: NumberColumn<Float64Array>;
  private readonly verbatim = new Map<number, string>();
  length = 0;

  constructor(capacity: number) {
    this.prefixIds = new NumberColumn(Int32Array, 1, capacity);
    this.suffixIds = new NumberColumn(Int32Array, 1, capacity);
    this.numbers = new NumberColumn(Float64Array, 1, capacity);
  }

  reserve(rows: number): void {
    this.prefixIds.reserve(rows);
    this.suffixIds.reserve(rows);
    this.numbers.reserve(rows);
  }

  push(value: string): void {
    const row = this.length++;
    // The last run of 1–15 digits without a leading zero (or a lone 0).
    let end = value.length;
    while (end > 0 && !isDigit(value.charCodeAt(end - 1))) end--;
    let start = end;
    while (start > 0 && isDigit(value.charCodeAt(start - 1))) start--;
    const digits = end - start;
    const ok = digits > 0 && digits <= 15 && (value.charCodeAt(start) !== 0x30 || digits === 1);
    if (ok) {
      this.prefixIds.push(this.prefixes.idOf(value.slice(0, start)));
      this.suffixIds.push(this.suffixes.idOf(value.slice(end)));
      this.numbers.push(Number(value.slice(start, end)));
    } else {
      this.prefixIds.push(-1);
      this.suffixIds.push(-1);
      this.numbers.push(0);
      this.verbatim.set(row, value);
    }
  }

  get(row: number): string {
    const prefix = this.prefixIds.data[row];
    if (prefix < 0) return this.verbatim.get(row) ?? '';
    return `${this.prefixes.values[prefix]}${this.numbers.data[row]}${this.suffixes.values[this.suffixIds.data[row]]}`;
  }

  trim(): void {
    this.prefixIds.trim();
    this.suffixIds.trim();
    this.numbers.trim();
  }

  get byteLength(): number {
    return this.prefixIds.byteLength + this.suffixIds.byteLength + this.numbers.byteLength;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Variable-length lists of small integers (an annotation's attribute ids), stored as offsets + values. */
export class ListColumn {
  readonly offsets: NumberColumn<Int32Array>;
  readonly values: NumberColumn<Int32Array>;

  constructor(capacity: number) {
    this.offsets = new NumberColumn(Int32Array, 1, capacity + 1);
    this.offsets.push(0);
    this.values = new NumberColumn(Int32Array, 1, capacity);
  }

  reserve(rows: number): void {
    this.offsets.reserve(rows + 1);
  }

  push(items: readonly number[]): void {
    for (const item of items) this.values.push(item);
    this.offsets.push(this.values.length);
  }

  get(row: number): Int32Array {
    return this.values.data.subarray(this.offsets.data[row], this.offsets.data[row + 1]);
  }

  trim(): void {
    this.offsets.trim();
    this.values.trim();
  }

  get byteLength(): number {
    return this.offsets.byteLength + this.values.byteLength;
  }
}
