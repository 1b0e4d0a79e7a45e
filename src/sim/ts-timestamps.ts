/**
 * Rewriting the clock of an MPEG-TS file so that one generated segment can stand for
 * any segment of a long VOD: PTS/DTS in PES headers and PCR in adaptation fields are
 * shifted by a constant, and continuity counters advanced, so consecutive copies play
 * (and remux) as one continuous stream instead of the same four seconds repeated.
 */

const PACKET = 188;
const WRAP = 2 ** 33;
/** The 90 kHz clock of PTS, DTS and PCR bases. */
export const TS_CLOCK = 90_000;

/** Where the timestamps of a TS file are, and what they say. */
export interface TsLayout {
  /** Byte offsets of 5-byte PTS/DTS fields. */
  readonly stamps: Int32Array;
  /** Byte offsets of 6-byte PCR fields. */
  readonly pcrs: Int32Array;
  /** Offsets of each packet's continuity-counter byte, with its PID, for packets that carry payload. */
  readonly ccOffsets: Int32Array;
  readonly ccPids: Int32Array;
  /** Payload packets per PID in the file: how far its counter advances per copy. */
  readonly packetsPerPid: ReadonlyMap<number, number>;
  /** Smallest PTS in the file (90 kHz). */
  readonly firstPts: number;
}

const readStamp = (b: Uint8Array, o: number): number =>
  ((b[o]! >> 1) & 0x07) * 2 ** 30 + ((b[o + 1]! << 22) | ((b[o + 2]! >> 1) << 15) | (b[o + 3]! << 7) | (b[o + 4]! >> 1));

const writeStamp = (b: Uint8Array, o: number, v: number): void => {
  const lo = v % 2 ** 30;
  b[o] = (b[o]! & 0xf0) | ((Math.floor(v / 2 ** 30) & 0x07) << 1) | 1;
  b[o + 1] = (lo >>> 22) & 0xff;
  b[o + 2] = (((lo >>> 15) & 0x7f) << 1) | 1;
  b[o + 3] = (lo >>> 7) & 0xff;
  b[o + 4] = ((lo & 0x7f) << 1) | 1;
};

const readPcrBase = (b: Uint8Array, o: number): number =>
  b[o]! * 2 ** 25 + ((b[o + 1]! << 17) | (b[o + 2]! << 9) | (b[o + 3]! << 1) | (b[o + 4]! >> 7));

const writePcrBase = (b: Uint8Array, o: number, v: number): void => {
  const lo = v % 2 ** 25;
  b[o] = Math.floor(v / 2 ** 25) & 0xff;
  b[o + 1] = (lo >>> 17) & 0xff;
  b[o + 2] = (lo >>> 9) & 0xff;
  b[o + 3] = (lo >>> 1) & 0xff;
  b[o + 4] = ((lo & 1) << 7) | (b[o + 4]! & 0x7f);
};

/** Finds every timestamp and counter in a TS file; throws when it is not 188-byte packets. */
export const analyzeTs = (buf: Uint8Array): TsLayout => {
  if (buf.length % PACKET !== 0) throw new Error(`not an MPEG-TS file: ${buf.length} bytes is not a multiple of ${PACKET}`);
  const stamps: number[] = [];
  const pcrs: number[] = [];
  const ccOffsets: number[] = [];
  const ccPids: number[] = [];
  const perPid = new Map<number, number>();
  let firstPts = Infinity;
  for (let p = 0; p < buf.length; p += PACKET) {
    if (buf[p] !== 0x47) throw new Error(`not an MPEG-TS file: no sync byte at ${p}`);
    const pid = ((buf[p + 1]! & 0x1f) << 8) | buf[p + 2]!;
    if (pid === 0x1fff) continue;
    const pusi = (buf[p + 1]! & 0x40) !== 0;
    const afc = (buf[p + 3]! >> 4) & 0x03;
    let payload = p + 4;
    if (afc & 0x02) {
      const afLen = buf[p + 4]!;
      if (afLen > 0 && (buf[p + 5]! & 0x10) !== 0) pcrs.push(p + 6);
      payload = p + 5 + afLen;
    }
    if (afc & 0x01) {
      ccOffsets.push(p + 3);
      ccPids.push(pid);
      perPid.set(pid, (perPid.get(pid) ?? 0) + 1);
      if (pusi && payload + 14 <= p + PACKET && buf[payload] === 0 && buf[payload + 1] === 0 && buf[payload + 2] === 1) {
        const flags = buf[payload + 7]! >> 6;
        if (flags & 0x02) {
          stamps.push(payload + 9);
          firstPts = Math.min(firstPts, readStamp(buf, payload + 9));
          if (flags === 0x03 && payload + 19 <= p + PACKET) stamps.push(payload + 14);
        }
      }
    }
  }
  return {
    stamps: Int32Array.from(stamps),
    pcrs: Int32Array.from(pcrs),
    ccOffsets: Int32Array.from(ccOffsets),
    ccPids: Int32Array.from(ccPids),
    packetsPerPid: perPid,
    firstPts: firstPts === Infinity ? 0 : firstPts,
  };
};

/**
 * A copy of `buf` with every timestamp moved by `delta` (90 kHz ticks) and each PID's
 * continuity counter advanced by `copies` times its packets-per-copy count in `counterBase`
 * (the layout of the file repeated before this one; defaults to `layout` itself).
 */
export const shiftTs = (buf: Uint8Array, layout: TsLayout, delta: number, copies: number, counterBase: TsLayout = layout): Buffer => {
  const out = Buffer.from(buf);
  if (delta !== 0) {
    const d = ((delta % WRAP) + WRAP) % WRAP;
    for (const o of layout.stamps) writeStamp(out, o, (readStamp(out, o) + d) % WRAP);
    for (const o of layout.pcrs) writePcrBase(out, o, (readPcrBase(out, o) + d) % WRAP);
  }
  if (copies !== 0) {
    const advance = new Map<number, number>();
    for (const [pid, n] of counterBase.packetsPerPid) advance.set(pid, (n * copies) % 16);
    for (let i = 0; i < layout.ccOffsets.length; i++) {
      const o = layout.ccOffsets[i]!;
      const a = advance.get(layout.ccPids[i]!) ?? 0;
      if (a !== 0) out[o] = (out[o]! & 0xf0) | ((out[o]! + a) & 0x0f);
    }
  }
  return out;
};
