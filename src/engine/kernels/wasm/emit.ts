/**
 * A minimal WebAssembly binary encoder: just enough to write the fused step's SIMD kernels as
 * TypeScript that emits the module's bytes at start-up (see simd.ts). No toolchain, no
 * dependency: the source of the kernels is the code in this folder.
 *
 * Instructions are written as a stack machine, one method per opcode, e.g.
 *   f.get(a).get(b).op(I32.add).set(c)
 * with structured control flow through block/loop/if_ helpers that take the body as a callback.
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof F64 | typeof V128;

/** One-byte opcodes used here (core spec). */
export const Op = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  f32Load: 0x2a,
  f64Load: 0x2b,
  i32Store: 0x36,
  f32Store: 0x38,
  f64Store: 0x39,
  i32Const: 0x41,
  i64Const: 0x42,
  f32Const: 0x43,
  f64Const: 0x44,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32LtS: 0x48,
  i32LtU: 0x49,
  i32GtS: 0x4a,
  i32LeS: 0x4c,
  i32GeS: 0x4e,
  f32Ne: 0x5c,
  f32Gt: 0x5e,
  f64Eq: 0x61,
  f64Ne: 0x62,
  f64Lt: 0x63,
  f64Gt: 0x64,
  f64Le: 0x65,
  f64Ge: 0x66,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32DivS: 0x6d,
  i32RemS: 0x6f,
  i32And: 0x71,
  i32Or: 0x72,
  i32Shl: 0x74,
  f32Neg: 0x8c,
  f32Add: 0x92,
  f32Sub: 0x93,
  f32Mul: 0x94,
  f32Div: 0x95,
  f32Sqrt: 0x91,
  f32Max: 0x97,
  f64Abs: 0x99,
  f64Sqrt: 0x9f,
  f64Add: 0xa0,
  f64Sub: 0xa1,
  f64Mul: 0xa2,
  f64Div: 0xa3,
  f64Min: 0xa4,
  f64Max: 0xa5,
  f32DemoteF64: 0xb6,
  f64ConvertI32S: 0xb7,
  f64PromoteF32: 0xbb,
} as const;

/** SIMD opcodes (prefix 0xfd, LEB128 sub-opcode). */
export const Simd = {
  load: 0x00,
  load32Splat: 0x09,
  store: 0x0b,
  const: 0x0c,
  i8x16Shuffle: 0x0d,
  i32x4Splat: 0x11,
  f32x4Splat: 0x13,
  f32x4ExtractLane: 0x1f,
  f32x4Eq: 0x41,
  f32x4Lt: 0x43,
  f32x4Gt: 0x44,
  f32x4Le: 0x45,
  f32x4Ge: 0x46,
  v128Not: 0x4d,
  v128And: 0x4e,
  v128AndNot: 0x4f,
  v128Or: 0x50,
  v128Xor: 0x51,
  v128Bitselect: 0x52,
  f32x4Floor: 0x68,
  i32x4Shl: 0xab,
  i32x4ShrS: 0xac,
  i32x4Add: 0xae,
  i32x4Sub: 0xb1,
  f32x4Abs: 0xe0,
  f32x4Neg: 0xe1,
  f32x4Sqrt: 0xe3,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Min: 0xe8,
  f32x4Max: 0xe9,
  i32x4TruncSatF32x4S: 0xf8,
  f32x4ConvertI32x4S: 0xfa,
  /** Relaxed SIMD: a·b + c, fused or not at the engine's choice. */
  f32x4RelaxedMadd: 0x105,
} as const;

/** Atomic opcodes (prefix 0xfe; threads proposal). */
export const Atomic = {
  notify: 0x00,
  wait32: 0x01,
  i32Load: 0x10,
  i32Store: 0x17,
  i32RmwAdd: 0x1e,
} as const;

function uleb(n: number, out: number[]): void {
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  // Works for 32-bit signed values.
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function name(s: string, out: number[]): void {
  const bytes = new TextEncoder().encode(s);
  uleb(bytes.length, out);
  out.push(...bytes);
}

function section(id: number, body: number[], out: number[]): void {
  out.push(id);
  uleb(body.length, out);
  out.push(...body);
}

const f32Buf = new DataView(new ArrayBuffer(8));

/** A local variable (parameters included) of the function being written. */
export class Local {
  constructor(readonly index: number) {}
}

/** The body of one function. Every method appends instructions and returns `this`. */
export class Fn {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];

  constructor(
    readonly name: string,
    readonly params: ValType[],
    readonly results: ValType[],
  ) {}

  /** Parameter `i` as a local. */
  param(i: number): Local {
    return new Local(i);
  }

  local(type: ValType): Local {
    this.localTypes.push(type);
    return new Local(this.params.length + this.localTypes.length - 1);
  }

  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  simd(sub: number, ...imm: number[]): this {
    this.code.push(0xfd);
    uleb(sub, this.code);
    this.code.push(...imm);
    return this;
  }

  get(l: Local): this {
    this.code.push(Op.localGet);
    uleb(l.index, this.code);
    return this;
  }

  set(l: Local): this {
    this.code.push(Op.localSet);
    uleb(l.index, this.code);
    return this;
  }

  tee(l: Local): this {
    this.code.push(Op.localTee);
    uleb(l.index, this.code);
    return this;
  }

  i32(v: number): this {
    this.code.push(Op.i32Const);
    sleb(v | 0, this.code);
    return this;
  }

  /** i64.const for small values (the wait timeout). */
  i64(v: number): this {
    this.code.push(Op.i64Const);
    sleb(v | 0, this.code);
    return this;
  }

  call(index: number): this {
    this.code.push(Op.call);
    uleb(index, this.code);
    return this;
  }

  /** An atomic memory instruction on i32 (natural alignment). */
  atomic(sub: number, offset = 0): this {
    this.code.push(0xfe);
    uleb(sub, this.code);
    this.memarg(2, offset);
    return this;
  }

  f32(v: number): this {
    f32Buf.setFloat32(0, v, true);
    this.code.push(Op.f32Const);
    for (let i = 0; i < 4; i++) this.code.push(f32Buf.getUint8(i));
    return this;
  }

  f64(v: number): this {
    f32Buf.setFloat64(0, v, true);
    this.code.push(Op.f64Const);
    for (let i = 0; i < 8; i++) this.code.push(f32Buf.getUint8(i));
    return this;
  }

  /** A v128 constant with the same f32 in every lane. */
  f32x4(v: number): this {
    this.code.push(0xfd);
    uleb(Simd.const, this.code);
    f32Buf.setFloat32(0, v, true);
    for (let lane = 0; lane < 4; lane++)
      for (let i = 0; i < 4; i++) this.code.push(f32Buf.getUint8(i));
    return this;
  }

  /** A v128 constant with the same i32 in every lane. */
  i32x4(v: number): this {
    this.code.push(0xfd);
    uleb(Simd.const, this.code);
    f32Buf.setInt32(0, v, true);
    for (let lane = 0; lane < 4; lane++)
      for (let i = 0; i < 4; i++) this.code.push(f32Buf.getUint8(i));
    return this;
  }

  private memarg(align: number, offset: number): void {
    uleb(align, this.code);
    uleb(offset, this.code);
  }

  /** v128.load at [address on the stack] + offset bytes. */
  vload(offset = 0): this {
    this.code.push(0xfd);
    uleb(Simd.load, this.code);
    this.memarg(4, offset);
    return this;
  }

  /** v128.store: stack [address, value]. */
  vstore(offset = 0): this {
    this.code.push(0xfd);
    uleb(Simd.store, this.code);
    this.memarg(4, offset);
    return this;
  }

  /** v128.load32_splat: one f32 from memory in all four lanes. */
  vsplatLoad(offset = 0): this {
    this.code.push(0xfd);
    uleb(Simd.load32Splat, this.code);
    this.memarg(2, offset);
    return this;
  }

  i32load(offset = 0): this {
    this.code.push(Op.i32Load);
    this.memarg(2, offset);
    return this;
  }

  i32store(offset = 0): this {
    this.code.push(Op.i32Store);
    this.memarg(2, offset);
    return this;
  }

  f64load(offset = 0): this {
    this.code.push(Op.f64Load);
    this.memarg(3, offset);
    return this;
  }

  f32load(offset = 0): this {
    this.code.push(Op.f32Load);
    this.memarg(2, offset);
    return this;
  }

  f32store(offset = 0): this {
    this.code.push(Op.f32Store);
    this.memarg(2, offset);
    return this;
  }

  f64store(offset = 0): this {
    this.code.push(Op.f64Store);
    this.memarg(3, offset);
    return this;
  }

  /** i8x16.shuffle picking four f32 lanes of two vectors (0–3: the first, 4–7: the second). */
  shuffle32(lanes: [number, number, number, number]): this {
    return this.simd(
      Simd.i8x16Shuffle,
      ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]),
    );
  }

  lane(i: number): this {
    return this.simd(Simd.f32x4ExtractLane, i);
  }

  /** block … end (a forward branch target). `br(0)` inside `body` leaves it. */
  block(body: () => void): this {
    this.code.push(Op.block, 0x40);
    body();
    this.code.push(Op.end);
    return this;
  }

  /** loop … end (a backward branch target). `br(0)` inside `body` continues it. */
  loop(body: () => void): this {
    this.code.push(Op.loop, 0x40);
    body();
    this.code.push(Op.end);
    return this;
  }

  /** if (condition on the stack) … [else …] end. */
  if_(then: () => void, otherwise?: () => void): this {
    this.code.push(Op.if, 0x40);
    then();
    if (otherwise) {
      this.code.push(Op.else);
      otherwise();
    }
    this.code.push(Op.end);
    return this;
  }

  br(label: number): this {
    this.code.push(Op.br);
    uleb(label, this.code);
    return this;
  }

  brIf(label: number): this {
    this.code.push(Op.brIf);
    uleb(label, this.code);
    return this;
  }

  /**
   * while (i < end) { body; i += step } — `end` and `step` are locals or constants. The body must
   * not branch out of the loop itself.
   */
  whileLt(i: Local, end: Local | number, step: number | Local, body: () => void): this {
    const pushEnd = () => (typeof end === 'number' ? this.i32(end) : this.get(end));
    return this.block(() => {
      this.loop(() => {
        this.get(i);
        pushEnd();
        this.op(Op.i32GeS).brIf(1);
        body();
        this.get(i);
        if (typeof step === 'number') this.i32(step);
        else this.get(step);
        this.op(Op.i32Add).set(i).br(0);
      });
    });
  }

  /** The encoded body: local declarations, code and the final `end`. */
  encode(): number[] {
    const body: number[] = [];
    uleb(this.localTypes.length, body);
    for (const t of this.localTypes) {
      body.push(1, t);
    }
    body.push(...this.code, Op.end);
    const out: number[] = [];
    uleb(body.length, out);
    out.push(...body);
    return out;
  }
}

export interface MemoryImport {
  module: string;
  field: string;
  minPages: number;
  maxPages?: number;
  shared?: boolean;
}

/** A module of exported functions over one imported memory. */
export class ModuleBuilder {
  private readonly fns: Fn[] = [];

  constructor(private readonly memory: MemoryImport) {}

  func(name: string, params: ValType[], results: ValType[], build: (f: Fn) => void): this {
    const f = new Fn(name, params, results);
    build(f);
    this.fns.push(f);
    return this;
  }

  /** The index of a function added earlier (for `call`). */
  index(name: string): number {
    const i = this.fns.findIndex((f) => f.name === name);
    if (i < 0) throw new Error(`no function ${name} yet`);
    return i;
  }

  bytes(): Uint8Array {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    // Types: one per function (duplicates are allowed).
    const types: number[] = [];
    uleb(this.fns.length, types);
    for (const f of this.fns) {
      types.push(0x60);
      uleb(f.params.length, types);
      types.push(...f.params);
      uleb(f.results.length, types);
      types.push(...f.results);
    }
    section(1, types, out);
    // Import: the memory.
    const imports: number[] = [];
    uleb(1, imports);
    name(this.memory.module, imports);
    name(this.memory.field, imports);
    imports.push(0x02);
    const m = this.memory;
    if (m.shared) {
      imports.push(0x03);
      uleb(m.minPages, imports);
      uleb(m.maxPages ?? 65536, imports);
    } else if (m.maxPages !== undefined) {
      imports.push(0x01);
      uleb(m.minPages, imports);
      uleb(m.maxPages, imports);
    } else {
      imports.push(0x00);
      uleb(m.minPages, imports);
    }
    section(2, imports, out);
    // Functions: type i for function i.
    const funcs: number[] = [];
    uleb(this.fns.length, funcs);
    this.fns.forEach((_, i) => uleb(i, funcs));
    section(3, funcs, out);
    // Exports: every function by name.
    const exports: number[] = [];
    uleb(this.fns.length, exports);
    this.fns.forEach((f, i) => {
      name(f.name, exports);
      exports.push(0x00);
      uleb(i, exports);
    });
    section(7, exports, out);
    // Code.
    const code: number[] = [];
    uleb(this.fns.length, code);
    for (const f of this.fns) code.push(...f.encode());
    section(10, code, out);
    return new Uint8Array(out);
  }
}
