import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { ChecksumError, DataError } from "../../src/core/errors.js";
import { expectedSha256, sha256Hex, verifySha256 } from "../../src/data/archive/checksum.js";
import { readSingleEntry, readZipEntryAsync, singleEntry, writeZip } from "../../src/data/archive/zip.js";
import { flipBytes, removeTempDirs, SAMPLE, spotZip, tempDir, umZip, unzipText } from "./archiveHelpers.js";

const hasZipCli = existsSync("/usr/bin/zip");
const tmp = tempDir("zip");
afterAll(removeTempDirs);

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
}

/** A stored (method 0) one-entry zip: every content byte sits in the file as is, so a flip reaches the CRC. */
function storedZip(name: string, data: Uint8Array): Uint8Array {
  const n = Buffer.from(name);
  const out = Buffer.alloc(30 + n.length + data.length + 46 + n.length + 22);
  out.writeUInt32LE(0x04034b50, 0);
  out.writeUInt16LE(10, 4);
  out.writeUInt32LE(crc32(data), 14);
  out.writeUInt32LE(data.length, 18);
  out.writeUInt32LE(data.length, 22);
  out.writeUInt16LE(n.length, 26);
  n.copy(out, 30);
  out.set(data, 30 + n.length);
  const cd = 30 + n.length + data.length;
  out.writeUInt32LE(0x02014b50, cd);
  out.writeUInt16LE(10, cd + 6);
  out.writeUInt32LE(crc32(data), cd + 16);
  out.writeUInt32LE(data.length, cd + 20);
  out.writeUInt32LE(data.length, cd + 24);
  out.writeUInt16LE(n.length, cd + 28);
  n.copy(out, cd + 46);
  const eocd = cd + 46 + n.length;
  out.writeUInt32LE(0x06054b50, eocd);
  out.writeUInt16LE(1, eocd + 8);
  out.writeUInt16LE(1, eocd + 10);
  out.writeUInt32LE(46 + n.length, eocd + 12);
  out.writeUInt32LE(cd, eocd + 16);
  return out;
}

/** A zip64 archive with every size and offset saturated in the 32-bit fields, as large archives have. */
function zip64(name: string, data: Uint8Array): Uint8Array {
  const n = Buffer.from(name);
  const packed = deflateRawSync(data);
  const extraLocal = Buffer.alloc(20);
  extraLocal.writeUInt16LE(1, 0);
  extraLocal.writeUInt16LE(16, 2);
  extraLocal.writeBigUInt64LE(BigInt(data.length), 4);
  extraLocal.writeBigUInt64LE(BigInt(packed.length), 12);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(45, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc32(data), 14);
  local.writeUInt32LE(0xffffffff, 18);
  local.writeUInt32LE(0xffffffff, 22);
  local.writeUInt16LE(n.length, 26);
  local.writeUInt16LE(extraLocal.length, 28);
  const head = Buffer.concat([local, n, extraLocal, packed]);
  const extra = Buffer.alloc(28);
  extra.writeUInt16LE(1, 0);
  extra.writeUInt16LE(24, 2);
  extra.writeBigUInt64LE(BigInt(data.length), 4);
  extra.writeBigUInt64LE(BigInt(packed.length), 12);
  extra.writeBigUInt64LE(0n, 20);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(45, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc32(data), 16);
  central.writeUInt32LE(0xffffffff, 20);
  central.writeUInt32LE(0xffffffff, 24);
  central.writeUInt16LE(n.length, 28);
  central.writeUInt16LE(extra.length, 30);
  central.writeUInt32LE(0xffffffff, 42);
  const cd = Buffer.concat([central, n, extra]);
  const rec = Buffer.alloc(56);
  rec.writeUInt32LE(0x06064b50, 0);
  rec.writeBigUInt64LE(44n, 4);
  rec.writeBigUInt64LE(1n, 24);
  rec.writeBigUInt64LE(1n, 32);
  rec.writeBigUInt64LE(BigInt(cd.length), 40);
  rec.writeBigUInt64LE(BigInt(head.length), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(head.length + cd.length), 8);
  locator.writeUInt32LE(1, 16);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0xffff, 8);
  eocd.writeUInt16LE(0xffff, 10);
  eocd.writeUInt32LE(0xffffffff, 12);
  eocd.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([head, cd, rec, locator, eocd]);
}

describe("zip reader", () => {
  it("reads Binance's spot and futures archives to exactly what unzip extracts", async () => {
    for (const zip of [spotZip(SAMPLE, "2023-03"), umZip(SAMPLE, "2023-02")]) {
      const bytes = readFileSync(zip);
      const { name, data } = readSingleEntry(bytes, zip);
      expect(name).toBe(zip.slice(zip.lastIndexOf("/") + 1).replace(".zip", ".csv"));
      const expected = Buffer.from(unzipText(zip), "latin1");
      expect(Buffer.compare(Buffer.from(data), expected)).toBe(0);
      const viaPool = await readZipEntryAsync(bytes, singleEntry(bytes, zip), zip);
      expect(Buffer.compare(Buffer.from(viaPool), expected)).toBe(0);
    }
  });

  it("writes zips that Info-ZIP's unzip tests clean and extracts identically", () => {
    const csv = Buffer.from("1,2,3\n4,5,6\n");
    const file = join(tmp, "w.zip");
    writeFileSync(file, writeZip("w.csv", csv));
    expect(execFileSync("unzip", ["-t", file], { encoding: "utf8" })).toMatch(/No errors detected/);
    expect(unzipText(file)).toBe(csv.toString());
    expect(Buffer.from(readSingleEntry(readFileSync(file), file).data).toString()).toBe(csv.toString());
  });

  it.skipIf(!hasZipCli)("reads zips made by Info-ZIP's zip: deflated, stored (-0) and zip64 (-fz)", () => {
    const csv = "1677628800000,1,2,3\n".repeat(200);
    writeFileSync(join(tmp, "z.csv"), csv);
    for (const flags of [[], ["-0"], ["-fz"]]) {
      const file = join(tmp, `z${flags.join("")}.zip`);
      execFileSync("zip", ["-q", "-X", ...flags, file, "z.csv"], { cwd: tmp });
      const { name, data } = readSingleEntry(readFileSync(file), file);
      expect(name).toBe("z.csv");
      expect(Buffer.from(data).toString()).toBe(csv);
    }
  });

  it("reads zip64 archives whose 32-bit sizes and offsets are all saturated", () => {
    const csv = Buffer.from("1,2\n3,4\n");
    const { data } = readSingleEntry(zip64("big.csv", csv), "big.zip");
    expect(Buffer.from(data).toString()).toBe("1,2\n3,4\n");
  });

  it("refuses a truncated file, naming the file and the problem", () => {
    const bytes = readFileSync(spotZip(SAMPLE, "2023-02"));
    expect(() => readSingleEntry(bytes.subarray(0, 1000), "BTCUSDT-1m-2023-02.zip")).toThrow(
      new DataError(
        "not a valid zip archive: no end-of-central-directory record (truncated or not a zip file)",
        { file: "BTCUSDT-1m-2023-02.zip" },
      ),
    );
    expect(() => readSingleEntry(bytes.subarray(0, 10), "a.zip")).toThrow(
      "a.zip: not a valid zip archive: only 10 bytes, the file is truncated",
    );
    // The directory survives but the data it points at is gone.
    const cut = Buffer.concat([bytes.subarray(0, 5000), bytes.subarray(bytes.length - 90)]);
    const err = catchError(() => readSingleEntry(cut, "cut.zip"));
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toMatch(/^cut\.zip: not a valid zip archive: /);
  });

  it("refuses something that is not a zip", () => {
    const err = catchError(() => readSingleEntry(Buffer.from("<html>not found</html>".repeat(3)), "x.zip"));
    expect(err.message).toBe(
      "x.zip: not a valid zip archive: no end-of-central-directory record (truncated or not a zip file)",
    );
  });

  it("detects a flipped content byte by CRC-32", () => {
    const data = Buffer.from("1677628800000,23141.57,23154.70\n");
    const zip = storedZip("a.csv", data);
    expect(Buffer.from(readSingleEntry(zip, "a.zip").data).toString()).toBe(data.toString());
    flipBytes(zip, 30 + 5 + 3, 1, 0x01);
    const err = catchError(() => readSingleEntry(zip, "a.zip"));
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toBe(
      `a.zip: not a valid zip archive: CRC-32 mismatch for "a.csv" (expected ${crc32(data).toString(16).padStart(8, "0")}, got ${crc32(
        zip.subarray(35, 35 + data.length),
      )
        .toString(16)
        .padStart(8, "0")}); the file is corrupt`,
    );
  });

  it("refuses damaged deflate data in a real archive", () => {
    const bytes = Buffer.from(readFileSync(spotZip(SAMPLE, "2023-02")));
    flipBytes(bytes, 2000, 64, 0x5a);
    const err = catchError(() => readSingleEntry(bytes, "BTCUSDT-1m-2023-02.zip"));
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toMatch(
      /^BTCUSDT-1m-2023-02\.zip: not a valid zip archive: (cannot inflate "BTCUSDT-1m-2023-02\.csv": .+|CRC-32 mismatch .+|"BTCUSDT-1m-2023-02\.csv" inflates to \d+ bytes, .+)$/,
    );
  });

  it("refuses unsupported compression, encryption, a bad local header and several files", () => {
    const zip = Buffer.from(writeZip("a.csv", Buffer.from("1,2\n")));
    const cd = zip.readUInt32LE(zip.length - 6);
    const method = Buffer.from(zip);
    method.writeUInt16LE(12, cd + 10);
    expect(() => readSingleEntry(method, "m.zip")).toThrow(
      'm.zip: not a valid zip archive: "a.csv" uses compression method 12; only stored (0) and deflate (8) are supported',
    );
    const encrypted = Buffer.from(zip);
    encrypted.writeUInt16LE(1, cd + 8);
    expect(() => readSingleEntry(encrypted, "e.zip")).toThrow(
      'e.zip: not a valid zip archive: "a.csv" is encrypted',
    );
    const local = Buffer.from(zip);
    local.writeUInt32LE(0, 0);
    expect(() => readSingleEntry(local, "l.zip")).toThrow(
      'l.zip: not a valid zip archive: bad local header for "a.csv" at offset 0',
    );
    const badCd = Buffer.from(zip);
    badCd.writeUInt32LE(0, cd);
    expect(() => readSingleEntry(badCd, "c.zip")).toThrow(
      `c.zip: not a valid zip archive: bad central directory entry 1 at offset ${cd}`,
    );
  });

  it.skipIf(!hasZipCli)("refuses an archive with more than one file", () => {
    writeFileSync(join(tmp, "b1.csv"), "1\n");
    writeFileSync(join(tmp, "b2.csv"), "2\n");
    const file = join(tmp, "two.zip");
    execFileSync("zip", ["-q", file, "b1.csv", "b2.csv"], { cwd: tmp });
    expect(() => readSingleEntry(readFileSync(file), "two.zip")).toThrow(
      "two.zip: not a valid zip archive: expected one file inside, found 2: b1.csv, b2.csv",
    );
  });
});

describe("checksum", () => {
  const zip = spotZip(SAMPLE, "2023-03");
  const bytes = readFileSync(zip);
  const line = readFileSync(`${zip}.CHECKSUM`, "utf8");

  it("reads Binance's CHECKSUM line and accepts the real file", () => {
    expect(line).toMatch(/^[0-9a-f]{64} {2}BTCUSDT-1m-2023-03\.zip/);
    const expected = expectedSha256(line, "BTCUSDT-1m-2023-03.zip", `${zip}.CHECKSUM`);
    expect(expected).toBe(execFileSync("sha256sum", [zip], { encoding: "utf8" }).slice(0, 64));
    expect(sha256Hex(bytes)).toBe(expected);
    expect(() => verifySha256(bytes, expected, "BTCUSDT-1m-2023-03.zip")).not.toThrow();
  });

  it("refuses different bytes with the exact message", () => {
    const bad = Buffer.from(bytes);
    flipBytes(bad, 1234);
    const expected = expectedSha256(line, "BTCUSDT-1m-2023-03.zip", "c");
    const err = catchError(() => verifySha256(bad, expected, "BTCUSDT-1m-2023-03.zip"));
    expect(err).toBeInstanceOf(ChecksumError);
    expect(err.message).toBe(
      `BTCUSDT-1m-2023-03.zip: checksum mismatch (expected ${expected}, got ${sha256Hex(bad)}); the file is corrupt, nothing was written`,
    );
  });

  it("accepts sha256sum's binary marker and a bare digest; refuses a line for another file", () => {
    const digest = "a".repeat(64);
    expect(expectedSha256(`${digest} *X.zip\n`, "X.zip", "c")).toBe(digest);
    expect(expectedSha256(`${digest.toUpperCase()}\n`, "X.zip", "c")).toBe(digest);
    expect(() => expectedSha256(`${digest}  Y.zip\n`, "X.zip", "X.zip.CHECKSUM")).toThrow(
      'X.zip.CHECKSUM: no SHA-256 line for X.zip (expected "<sha256>  X.zip")',
    );
  });
});
