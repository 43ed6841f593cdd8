/**
 * A minimal WebAssembly binary writer for the generated kernels (gb's forest prediction,
 * histogram and partition loops; the hottest indicator loops): LEB128 numbers, sections, and the
 * few opcodes used.
 */

/** The little of the WebAssembly JS API used here (the project's lib settings carry no wasm types). */
export interface WasmMemory {
  buffer: ArrayBuffer | SharedArrayBuffer;
}
export interface WasmApi {
  Memory: new (desc: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/** The global WebAssembly object, or undefined where the runtime has none (node --jitless). */
export function wasmApi(): WasmApi | undefined {
  return (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
}

const f64Buf = new Float64Array(1);
const f64Bytes = new Uint8Array(f64Buf.buffer);

const utf8 = new TextEncoder();

/** A growing byte buffer (a Uint8Array doubled as needed: modules run to hundreds of KB). */
export class Bytes {
  private buf = new Uint8Array(256);
  /** Bytes written. */
  length = 0;
  private byte(b: number): void {
    if (this.length === this.buf.length) this.grow(1);
    this.buf[this.length++] = b;
  }
  private grow(extra: number): void {
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  /** Unsigned LEB128 (values up to 2^32 - 1). */
  u(v: number): this {
    let x = v >>> 0;
    do {
      let b = x & 0x7f;
      x >>>= 7;
      if (x !== 0) b |= 0x80;
      this.byte(b);
    } while (x !== 0);
    return this;
  }
  /** Signed LEB128 of a 32-bit integer. */
  s(v: number): this {
    let x = v | 0;
    for (;;) {
      const b = x & 0x7f;
      x >>= 7;
      if ((x === 0 && (b & 0x40) === 0) || (x === -1 && (b & 0x40) !== 0)) {
        this.byte(b);
        return this;
      }
      this.byte(b | 0x80);
    }
  }
  /** f64.const x */
  f64(x: number): this {
    this.byte(Op.f64Const);
    f64Buf[0] = x;
    for (let k = 0; k < 8; k++) this.byte(f64Bytes[k] as number);
    return this;
  }
  /** i32.const x */
  i32(x: number): this {
    this.byte(Op.i32Const);
    return this.s(x);
  }
  name(s: string): this {
    const b = utf8.encode(s);
    this.u(b.length);
    for (const c of b) this.byte(c);
    return this;
  }
  op(...b: number[]): this {
    for (const x of b) this.byte(x);
    return this;
  }
  append(o: Bytes): this {
    if (this.length + o.length > this.buf.length) this.grow(o.length);
    this.buf.set(o.buf.subarray(0, o.length), this.length);
    this.length += o.length;
    return this;
  }
  /** A copy of the bytes written. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export const Op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  call: 0x10,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  f64Load: 0x2b,
  i32Load8u: 0x2d,
  i32Store: 0x36,
  f64Store: 0x39,
  i32Const: 0x41,
  f64Const: 0x44,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32GeS: 0x4e,
  i32GeU: 0x4f,
  i32GtU: 0x4b,
  i32LeU: 0x4d,
  i32LtS: 0x48,
  i32Ne: 0x47,
  f64Eq: 0x61,
  f64Ne: 0x62,
  f64Lt: 0x63,
  f64Gt: 0x64,
  f64Le: 0x65,
  f64Ge: 0x66,
  f64Abs: 0x99,
  f64Sqrt: 0x9f,
  f64ConvertI32S: 0xb7,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Or: 0x72,
  i32Shl: 0x74,
  i32Xor: 0x73,
  i32ShrU: 0x76,
  f64Add: 0xa0,
  f64Sub: 0xa1,
  f64Mul: 0xa2,
  f64Div: 0xa3,
  f64Max: 0xa5,
  f64Floor: 0x9c,
  f64ConvertI32U: 0xb8,
  select: 0x1b,
} as const;

export const Type = { void: 0x40, i32: 0x7f, f64: 0x7c } as const;

/** Memory access immediates: alignment (log2) then offset. */
export function memarg(c: Bytes, alignLog2: number, offset: number): void {
  c.u(alignLog2).u(offset);
}

export interface WasmFunction {
  name: string;
  params: number[];
  results: number[];
  /** Local declarations after the params: [count, type] pairs. */
  locals: [number, number][];
  body: Bytes;
}

/**
 * A module importing memory env.mem (shared or not; at least `pages` pages, and for a shared
 * memory at most `maxPages`, `pages` unless given) and exporting the functions.
 */
export function moduleBytes(
  fns: readonly WasmFunction[],
  pages: number,
  shared: boolean,
  maxPages = pages,
): Uint8Array {
  const mod = new Bytes().op(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
  const section = (id: number, body: Bytes): void => {
    mod.op(id).u(body.length).append(body);
  };
  const types = new Bytes().u(fns.length);
  for (const f of fns) {
    types
      .op(0x60)
      .u(f.params.length)
      .op(...f.params)
      .u(f.results.length)
      .op(...f.results);
  }
  section(1, types);
  const imports = new Bytes().u(1).name("env").name("mem").op(0x02);
  if (shared) imports.op(0x03).u(pages).u(maxPages);
  else imports.op(0x00).u(pages);
  section(2, imports);
  const funcs = new Bytes().u(fns.length);
  for (let i = 0; i < fns.length; i++) funcs.u(i);
  section(3, funcs);
  const exports = new Bytes().u(fns.length);
  for (let i = 0; i < fns.length; i++)
    exports
      .name((fns[i] as WasmFunction).name)
      .op(0x00)
      .u(i);
  section(7, exports);
  const code = new Bytes().u(fns.length);
  for (const f of fns) {
    const body = new Bytes().u(f.locals.length);
    for (const [count, type] of f.locals) body.u(count).op(type);
    body.append(f.body).op(Op.end);
    code.u(body.length).append(body);
  }
  section(10, code);
  return mod.bytes();
}
