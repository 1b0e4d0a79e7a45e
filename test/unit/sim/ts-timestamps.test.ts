import { describe, expect, it } from "vitest";
import { analyzeTs, shiftTs } from "../../../src/sim/ts-timestamps.ts";

// Builds 188-byte TS packets by hand: a PES start with PTS and DTS, one with a PCR.
const encodeStamp = (prefix: number, v: number): number[] => {
  const lo = v % 2 ** 30;
  return [
    (prefix << 4) | ((Math.floor(v / 2 ** 30) & 7) << 1) | 1,
    (lo >>> 22) & 0xff,
    (((lo >>> 15) & 0x7f) << 1) | 1,
    (lo >>> 7) & 0xff,
    ((lo & 0x7f) << 1) | 1,
  ];
};

const pesPacket = (pid: number, cc: number, pts: number, dts: number): Uint8Array => {
  const p = new Uint8Array(188).fill(0xff);
  p.set([0x47, 0x40 | (pid >> 8), pid & 0xff, 0x10 | cc]);
  p.set([0, 0, 1, 0xe0, 0, 0, 0x80, 0xc0, 10, ...encodeStamp(3, pts), ...encodeStamp(1, dts)], 4);
  return p;
};

const pcrPacket = (pid: number, cc: number, base: number): Uint8Array => {
  const p = new Uint8Array(188).fill(0xff);
  const lo = base % 2 ** 25;
  p.set([0x47, pid >> 8, pid & 0xff, 0x30 | cc, 7, 0x10, Math.floor(base / 2 ** 25) & 0xff, (lo >>> 17) & 0xff, (lo >>> 9) & 0xff, (lo >>> 1) & 0xff, ((lo & 1) << 7) | 0x7e, 0]);
  return p;
};

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

describe("MPEG-TS timestamp shifting", () => {
  const file = concat(pcrPacket(0x100, 0, 126_000), pesPacket(0x100, 1, 129_000, 126_000), pesPacket(0x101, 5, 126_000, 126_000));

  it("finds PTS, DTS, PCR and payload counters", () => {
    const l = analyzeTs(file);
    expect(l.firstPts).toBe(126_000);
    expect(l.stamps.length).toBe(4);
    expect(l.pcrs.length).toBe(1);
    expect([...l.packetsPerPid]).toEqual([
      [0x100, 2],
      [0x101, 1],
    ]);
  });

  it("moves every clock by the delta, across the 33-bit wrap, and advances counters per copy", () => {
    const l = analyzeTs(file);
    const delta = 2 ** 33 - 100_000;
    const shifted = shiftTs(file, l, delta, 3);
    const again = analyzeTs(shifted);
    expect(again.firstPts).toBe(26_000);
    // PCR base 126000 + delta wraps to 26000.
    const pcr = shifted[6]! * 2 ** 25 + ((shifted[7]! << 17) | (shifted[8]! << 9) | (shifted[9]! << 1) | (shifted[10]! >> 7));
    expect(pcr).toBe(26_000);
    expect(shifted[3]! & 0x0f).toBe((0 + 3 * 2) % 16);
    expect(shifted[188 + 3]! & 0x0f).toBe((1 + 3 * 2) % 16);
    expect(shifted[376 + 3]! & 0x0f).toBe((5 + 3 * 1) % 16);
    // Marker bits and prefixes survive.
    expect(shifted[188 + 4 + 9]! >> 4).toBe(3);
    expect(shifted[188 + 4 + 14]! >> 4).toBe(1);
    expect(shiftTs(shifted, again, 100_000 - 2 ** 33, 13)).toEqual(Buffer.from(file));
  });

  it("refuses what is not 188-byte packets", () => {
    expect(() => analyzeTs(new Uint8Array(100))).toThrow(/multiple of 188/);
    expect(() => analyzeTs(new Uint8Array(188))).toThrow(/sync byte/);
  });
});
