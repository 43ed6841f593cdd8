import { DataError } from "../../core/errors.js";
import { type Logger, silentLogger } from "../../core/log.js";
import { type WasmMemory, wasmApi } from "../../core/wasm.js";
import {
  BIN_SAMPLE_ROWS,
  type BinInfo,
  type BinMethod,
  binBounds,
  binFeature,
  binsRowMajor,
  featureOffsets,
  makeBinInfo,
} from "./binning.js";
import { TreeGrower } from "./grow.js";
import { histKernelSource, JOB, JP, JP_SIZE, makeViews, type Views, type WsData } from "./kernels.js";
import { pagesFor, type TrainLayout, trainKernelBytes, trainLayout, WASM_MAX_BYTES } from "./kernelsWasm.js";
import type { GbModel, GbTree } from "./model.js";
import type { GbParams } from "./params.js";
import { Rng, sampleIndices } from "./rng.js";
import { leafOutput, type SplitConfig } from "./split.js";
import { resolveThreads, Team } from "./team.js";

/** Below this many cells (rows × features) worker threads cost more than they save. */
const MIN_PARALLEL_CELLS = 400_000;
/** Histogram memory kept for leaves waiting to be split; beyond it leaves are rebuilt on demand. */
const HIST_POOL_BYTES = 256 << 20;
/** Memory for the bin-construction sample (features × rows doubles). */
const SAMPLE_BYTES = 256 << 20;
/** Quantisation levels per sign for gradients and for hessians (LightGBM uses 4 by default). */
const MAX_QUANT_LEVELS = 127;

export interface TrainGbOptions {
  log?: Logger;
  /** Run the hot loops as WebAssembly when available (default); false forces the JavaScript kernels. */
  wasm?: boolean;
}

function sab(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Math.max(8, bytes));
}

/**
 * Trains gradient-boosted trees on column-major features (NaN allowed) and labels (0/1 for
 * binary). With early stopping the last `validation_fraction` of the rows are held out and the
 * model is cut at the best validation log loss (binary) or squared error (regression).
 */
export function trainGb(
  columns: readonly Float64Array[],
  y: Float64Array,
  params: GbParams,
  opts: TrainGbOptions = {},
): GbModel {
  const log = opts.log ?? silentLogger;
  const t0 = performance.now();
  const d = columns.length;
  const n = y.length;
  checkInputs(columns, y, params);
  const binary = params.objective === "binary";

  let nValid = params.early_stopping_round > 0 ? Math.floor(n * params.validation_fraction) : 0;
  if (params.early_stopping_round > 0 && (nValid < 1 || nValid >= n)) {
    log.warn(
      { rows: n, validation_fraction: params.validation_fraction },
      "gb: no validation rows, early stopping off",
    );
    nValid = 0;
  }
  const nTrain = n - nValid;

  const rng = new Rng(params.seed);
  const threads = n * d >= MIN_PARALLEL_CELLS ? resolveThreads(params.num_threads) : 1;

  // Label weights (is_unbalance) and the initial score, as LightGBM's binary objective sets them.
  let wPos = 1;
  let wNeg = 1;
  let baseScore: number;
  {
    let sum = 0;
    let pos = 0;
    for (let i = 0; i < nTrain; i++) {
      const v = y[i] as number;
      sum += v;
      if (v > 0.5) pos++;
    }
    if (binary) {
      const neg = nTrain - pos;
      if (params.is_unbalance && pos > 0 && neg > 0) {
        if (pos > neg) wNeg = pos / neg;
        else wPos = neg / pos;
      }
      const p = Math.min(1 - 1e-15, Math.max(1e-15, pos / nTrain));
      baseScore = Math.log(p / (1 - p));
    } else {
      baseScore = sum / nTrain;
    }
    if (params.boost_from_average === false) baseScore = 0;
  }

  // Quantised gradients: stochastic rounding to `levels` steps, packed as gq·2^shift + hq so that
  // sums over up to nTrain rows stay exact integers below 2^53.
  let packed = binary && (params.use_quantized_grad ?? true);
  let gLevels = 0;
  let hLevels = 0;
  let packShift = 1;
  if (packed) {
    let q = MAX_QUANT_LEVELS;
    for (; q >= 2; q--) {
      const shift = 2 ** Math.ceil(Math.log2(nTrain * q + 1));
      if (nTrain * (q + 1) * shift < 2 ** 52) {
        packShift = shift;
        break;
      }
    }
    if (q < 2) packed = false;
    gLevels = q;
    hLevels = q;
  }
  const wMax = Math.max(wPos, wNeg);
  const gScale = packed ? wMax / gLevels : 1;
  const hScale = packed ? (0.25 * wMax) / hLevels : 1;

  // Shared buffers. Every feature gets max_bin + 1 histogram slots (numeric bins, then NaN), so
  // the histogram layout and kernel are fixed before binning and one team serves all stages.
  // The bin sample is sorted in shared memory, a column per thread at a time, each beside a
  // scratch column of the radix sort: fresh memory is slow to touch the first time (page
  // faults), so this is 4 columns for two threads rather than one per feature.
  const sampleM = Math.min(
    nTrain,
    params.bin_construct_sample_cnt ?? BIN_SAMPLE_ROWS,
    Math.max(10_000, Math.floor(SAMPLE_BYTES / (8 * Math.max(1, d)))),
  );
  const maxLeaves = params.num_leaves;
  const stride = params.max_bin + 1;
  const channels = packed ? 1 : 2;
  const slotSize = d * stride * channels;
  const slotBytes = slotSize * 8;
  const slots = Math.max(3, Math.min(maxLeaves + 1, Math.floor(HIST_POOL_BYTES / Math.max(8, slotBytes))));
  const histSize = slotSize * (slots + 3); // leaf slots plus scratch for the parts of a parallel histogram
  const layout = trainLayout(n, d, channels, 8 * histSize, maxLeaves);
  const useWasm = opts.wasm ?? true;
  const keepable = layout.end <= KEEP_HEAP_BYTES;
  const heapKey = JSON.stringify([layout, d, stride, packed, binary, useWasm]);
  const reuse = keptHeap?.key === heapKey ? keptHeap : undefined;
  keptHeap = undefined; // held by this run until it ends; never shared by two runs
  const heap = reuse?.heap ?? sharedHeap(layout, d, stride, packed, !binary, useWasm);
  const ws: WsData = {
    n,
    d,
    nTrain,
    objective: binary ? 0 : 1,
    packed: packed ? 1 : 0,
    slotSize,
    histSize,
    histSrc: histKernelSource(d, featureOffsets(d, stride), packed, false),
    histSrcDirect: histKernelSource(d, featureOffsets(d, stride), packed, true),
    heap: heap.buffer,
    layout,
    mem: heap.mem,
    wasmBytes: heap.bytes,
    jp: sab(8 * JP_SIZE),
    ji: sab(4 * 64),
    sample: sab(8 * 2 * Math.max(1, Math.min(d, threads)) * sampleM),
    sampleM,
    stride,
    split: sab(6 * 8 * maxLeaves),
    maxLeaves,
  };
  const v = makeViews(ws);
  const team = new Team(v, ws, threads);
  try {
    v.y.set(y);
    if (reuse !== undefined) v.leafOf.fill(0);
    // The bins depend on the columns' values and on how the bin sample is drawn; a sampled
    // bin sample also moves the generator, whose state after binning is kept with the bins
    // (and the seed is then part of the key). Bins from all rows leave the generator where
    // this training's seed started it: bagging and feature sampling must not take the stream
    // of the training that built the bins.
    const method = params.bin_method ?? "greedy";
    const sampled = nTrain > sampleM;
    const binKey = JSON.stringify([nTrain, params.max_bin, method, sampleM, sampled ? params.seed : null]);
    // Only memory that will be kept needs its columns' fingerprint.
    const fingerprint = keepable ? columnsFingerprint(columns) : "";
    let binned = reuse?.binned;
    if (binned !== undefined && (binned.key !== binKey || binned.fingerprint !== fingerprint))
      binned = undefined;
    if (binned !== undefined) {
      if (sampled) rng.setState(binned.rngState);
    } else {
      const info = binColumns(columns, v, team, rng, nTrain, params.max_bin, method, stride);
      const usable: number[] = [];
      for (let f = 0; f < d; f++) {
        const col = v.binsCol.subarray(f * n, (f + 1) * n);
        const nans = binFeature(columns[f] as Float64Array, info.bounds[f] as Float64Array, col, 0, n);
        if ((info.numBins[f] as number) > 1 || nans > 0) usable.push(f);
      }
      binsRowMajor(v.binsCol, v.bins, n, d);
      binned = { key: binKey, fingerprint, info, usable, rngState: rng.getState() };
    }
    const { info, usable } = binned;
    v.nanBin.set(info.numBins);
    const tBinned = performance.now();

    const cfg: SplitConfig = {
      l1: params.lambda_l1,
      l2: params.lambda_l2,
      minData: params.min_data_in_leaf,
      minHess: params.min_sum_hessian_in_leaf,
      minGain: params.min_gain_to_split,
      packed,
      packShift,
      gScale,
      hScale,
    };
    const grower = new TreeGrower(v, team, info, cfg, maxLeaves, params.max_depth, slots);
    const jp = v.jp;
    jp[JP.wPos] = wPos;
    jp[JP.wNeg] = wNeg;
    jp[JP.invGs] = 1 / gScale;
    jp[JP.invHs] = 1 / hScale;

    // Initial scores and gradients: a one-leaf "tree" with the identity update.
    v.e.fill(binary ? Math.exp(-baseScore) : baseScore);
    jp[JP.iterSeed] = iterationSeed(params.seed, 0);
    v.lMul[0] = binary ? 1 : 0;
    traverse(v, team, 0, nTrain, 0);

    const bagging = params.bagging_freq > 0 && params.bagging_fraction < 1;
    const nFeat = Math.max(1, Math.round(usable.length * params.feature_fraction));
    let nBag = nTrain;
    let bag: Int32Array = new Int32Array(0);
    const trees: GbTree[] = [];
    let best = Number.POSITIVE_INFINITY;
    let bestIteration = 0;
    const es = params.early_stopping_round;
    let msUpdate = 0;

    const rounds = usable.length > 0 ? params.num_boost_round : 0;
    for (let it = 0; it < rounds; it++) {
      if (bagging && it % params.bagging_freq === 0) {
        // drawn straight into the row list; kept (a copy) for the trees that reuse the bag
        nBag = rng.bernoulliRows(v.rows, nTrain, params.bagging_fraction);
        if (nBag === 0) v.rows[nBag++] = rng.int(nTrain);
        bag = params.bagging_freq > 1 ? v.rows.slice(0, nBag) : bag;
      } else if (bagging) v.rows.set(bag);
      grower.rootIsIdentity = !bagging;
      grower.setFeatures(
        nFeat >= usable.length
          ? usable
          : sampleIndices(rng, usable.length, nFeat).map((i) => usable[i] as number),
      );

      const leaves = grower.grow(nBag);
      if (leaves <= 1) {
        log.info({ iteration: it }, "gb: no split with positive gain left, stopping");
        break;
      }
      const values = new Array<number>(leaves);
      for (let l = 0; l < leaves; l++) {
        const out = leafOutput(
          (grower.G[l] as number) * gScale,
          (grower.H[l] as number) * hScale,
          params.lambda_l1,
          params.lambda_l2,
        );
        values[l] = out * params.learning_rate;
        v.lMul[l] = binary ? Math.exp(-(values[l] as number)) : (values[l] as number);
      }
      trees.push(toModelTree(v, grower.numInternal, values, info));

      jp[JP.iterSeed] = iterationSeed(params.seed, it + 1);
      const tu = performance.now();
      if (bagging) traverse(v, team, 0, nTrain, grower.numInternal);
      else {
        jp[JP.kind] = JOB.updateLeaves;
        jp[JP.updateLeaves.rows] = nTrain;
        team.run(nTrain < 8192 ? 1 : team.threads);
      }
      msUpdate += performance.now() - tu;
      if (nValid > 0) {
        traverse(v, team, nTrain, n, grower.numInternal);
        const loss = validationLoss(v, nTrain, n, binary);
        if (loss < best) {
          best = loss;
          bestIteration = trees.length;
        } else if (trees.length - bestIteration >= es) {
          log.info({ iteration: it, bestIteration, loss: best }, "gb: early stopping");
          break;
        }
      }
      if ((it + 1) % 50 === 0) log.debug({ iteration: it + 1, leaves }, "gb: boosting");
    }
    if (nValid === 0) bestIteration = trees.length;
    const kept = trees.slice(0, bestIteration);
    const seconds = round3((performance.now() - t0) / 1000);
    if (keepable) keptHeap = { key: heapKey, heap, binned };
    log.info(
      {
        rows: nTrain,
        validation_rows: nValid,
        features: d,
        trees: kept.length,
        threads: team.threads,
        quantized: packed,
        wasm: v.wasm !== undefined,
        bins_reused: reuse?.binned === binned,
        seconds,
      },
      "gb: trained",
    );
    log.debug(
      {
        binning_s: round3((tBinned - t0) / 1000),
        hist_s: round3(grower.msHist / 1000),
        partition_s: round3(grower.msPartition / 1000),
        merge_s: round3(grower.msMerge / 1000),
        split_s: round3(grower.msSplit / 1000),
        update_s: round3(msUpdate / 1000),
        rows_partitioned_per_tree: Math.round(grower.rowsPartitioned / Math.max(1, trees.length)),
        rows_histogrammed_per_tree: Math.round(grower.rowsHistogrammed / Math.max(1, trees.length)),
      },
      "gb: training time by stage",
    );
    return {
      kind: "gb",
      objective: params.objective,
      baseScore,
      trees: kept,
      featureCount: d,
      bestIteration: kept.length,
    };
  } finally {
    team.close();
  }
}

/** The bins of one training: reused by the next one on the same columns. */
interface Binned {
  key: string;
  fingerprint: string;
  info: BinInfo;
  usable: number[];
  rngState: number;
}

/**
 * The shared memory of the last training, with its bins: a next training of the same shape
 * (another label, seed or parameter set on the same rows) reuses the memory, whose pages are
 * then already mapped (first touches of fresh memory are a large share of a training's time on
 * some machines), and, when the columns hold the same values, the bins as well (binning is
 * about a sixth of a 420k-row training). Kept only below KEEP_HEAP_BYTES.
 */
let keptHeap: { key: string; heap: ReturnType<typeof sharedHeap>; binned: Binned } | undefined;
const KEEP_HEAP_BYTES = 256 << 20;

/** Drops the memory kept from the last training (see keptHeap). */
export function releaseGbMemory(): void {
  keptHeap = undefined;
}

/**
 * A 64-bit fingerprint of the columns' bits (two independent 32-bit multiply-xor lanes over
 * every 32-bit word, mixed with the shape): equal columns give equal fingerprints, and a
 * changed value changes it but for a chance of about 2^-64.
 */
function columnsFingerprint(columns: readonly Float64Array[]): string {
  let a = 0x243f6a88 ^ columns.length;
  let b = 0x85a308d3;
  for (const col of columns) {
    const w = new Int32Array(col.buffer, col.byteOffset, 2 * col.length);
    a = Math.imul(a ^ col.length, 0x9e3779b1);
    b = Math.imul(b ^ col.length, 0x7feb352d);
    for (let i = 0; i < w.length; i++) {
      const x = w[i] as number;
      a = Math.imul((a ^ x) + ((a << 5) | (a >>> 27)), 0x9e3779b1);
      b = Math.imul((b + x) ^ ((b << 11) | (b >>> 21)), 0x85ebca77);
    }
  }
  return `${(a >>> 0).toString(16).padStart(8, "0")}${(b >>> 0).toString(16).padStart(8, "0")}`;
}

/**
 * The memory for the big arrays: a shared WebAssembly memory with the wasm kernels compiled for
 * it, or (no WebAssembly, too large for 32-bit addresses, or `wasm: false`) a plain shared buffer
 * for the JavaScript kernels.
 */
function sharedHeap(
  layout: TrainLayout,
  d: number,
  stride: number,
  packed: boolean,
  regression: boolean,
  useWasm: boolean,
): { buffer: SharedArrayBuffer; mem: WasmMemory | undefined; bytes: Uint8Array | undefined } {
  const W = wasmApi();
  if (useWasm && W !== undefined && layout.end <= WASM_MAX_BYTES) {
    try {
      const pages = pagesFor(layout.end);
      const mem = new W.Memory({ initial: pages, maximum: pages, shared: true });
      const bytes = trainKernelBytes(layout, d, stride, packed, regression);
      return { buffer: mem.buffer as SharedArrayBuffer, mem, bytes };
    } catch {
      // fall through to the JavaScript kernels
    }
  }
  return { buffer: sab(layout.end), mem: undefined, bytes: undefined };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function checkInputs(columns: readonly Float64Array[], y: Float64Array, params: GbParams): void {
  const n = y.length;
  if (n === 0) throw new DataError("gb: no training rows");
  columns.forEach((c, f) => {
    if (c.length !== n) throw new DataError(`gb: feature column ${f} has ${c.length} rows, labels have ${n}`);
  });
  for (let i = 0; i < n; i++) {
    const v = y[i] as number;
    if (params.objective === "binary" ? v !== 0 && v !== 1 : !Number.isFinite(v)) {
      throw new DataError(
        `gb: label ${v} at row ${i}: ${params.objective === "binary" ? "binary labels must be 0 or 1" : "labels must be finite"} (drop unlabelled rows before training)`,
      );
    }
  }
}

function iterationSeed(seed: number, it: number): number {
  return Math.imul((seed | 0) ^ 0x27d4eb2f, 0x165667b1) ^ Math.imul(it + 1, 0x9e3779b1);
}

/** Applies the current tree (internal nodes in v.t*, leaf updates in v.lMul) to rows [a, b) by traversal. */
function traverse(v: Views, team: Team, a: number, b: number, internal: number): void {
  v.jp[JP.kind] = JOB.updateTraverse;
  v.jp[JP.updateTraverse.start] = a;
  v.jp[JP.updateTraverse.end] = b;
  v.jp[JP.updateTraverse.internal] = internal;
  team.run(b - a < 8192 ? 1 : team.threads);
}

function validationLoss(v: Views, a: number, b: number, binary: boolean): number {
  let sum = 0;
  for (let r = a; r < b; r++) {
    const e = v.e[r] as number;
    const y = v.y[r] as number;
    if (binary) {
      // p = 1 / (1 + e): -log p = log(1 + e), -log(1 - p) = log(1 + e) - log(e).
      const l1p = Math.log1p(e);
      sum += y > 0.5 ? l1p : l1p - Math.log(Math.max(e, 1e-300));
    } else {
      const d = e - y;
      sum += d * d;
    }
  }
  return sum / (b - a);
}

function binColumns(
  columns: readonly Float64Array[],
  v: Views,
  team: Team,
  rng: Rng,
  nTrain: number,
  maxBin: number,
  method: BinMethod,
  stride: number,
): BinInfo {
  const d = columns.length;
  const m = v.sampleM;
  const sample = v.sample;
  const idx = nTrain <= m ? undefined : sampleIndices(rng, nTrain, m);
  const slots = Math.min(d, team.threads, sample.length / (2 * m));
  const bounds: Float64Array[] = [];
  // The distinct values go to the sort's scratch column (touched already), the counts to one
  // array for all features.
  const counts = new Int32Array(m);
  for (let f0 = 0; f0 < d; f0 += slots) {
    const parts = Math.min(slots, d - f0);
    for (let j = 0; j < parts; j++) {
      const col = columns[f0 + j] as Float64Array;
      const dst = sample.subarray(j * m, (j + 1) * m);
      if (idx === undefined) dst.set(col.subarray(0, m));
      else for (let i = 0; i < m; i++) dst[i] = col[idx[i] as number] as number;
    }
    v.jp[JP.kind] = JOB.sort;
    team.run(parts);
    for (let j = 0; j < parts; j++) {
      const s = sample.subarray(j * m, (j + 1) * m);
      let k = m; // NaNs sort last
      while (k > 0 && Number.isNaN(s[k - 1] as number)) k--;
      const distinct = sample.subarray((slots + j) * m, (slots + j + 1) * m);
      bounds.push(binBounds(s, k, maxBin, method, { distinct, counts }));
    }
  }
  return makeBinInfo(bounds, stride);
}

function toModelTree(v: Views, internal: number, values: number[], info: BinInfo): GbTree {
  const t: GbTree = { feature: [], threshold: [], defaultLeft: [], left: [], right: [], leafValue: values };
  for (let i = 0; i < internal; i++) {
    const f = v.tFeat[i] as number;
    const k = v.tBin[i] as number;
    const bounds = info.bounds[f] as Float64Array;
    // "bin <= k" is "x <= upper bound of bin k"; the last numeric bin's bound is +Infinity,
    // which JSON cannot hold: the largest double sends every finite number left as well.
    let th = bounds[k] as number;
    if (!Number.isFinite(th)) th = th > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE;
    t.feature.push(f);
    t.threshold.push(th);
    t.defaultLeft.push(v.tDl[i] as number);
    t.left.push(v.tLeft[i] as number);
    t.right.push(v.tRight[i] as number);
  }
  return t;
}
