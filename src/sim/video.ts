import type { IncomingMessage, ServerResponse } from "node:http";
import { sendText, type Route } from "./http-io.ts";
import type { FaultBook } from "./faults.ts";
import type { SegmentCache } from "./segment-cache.ts";
import { shiftTs, TS_CLOCK } from "./ts-timestamps.ts";
import type { SimClock } from "./clock.ts";
import type { SimVod, World } from "./world.ts";

/** What the HLS surface reads. */
export interface VideoDeps {
  readonly world: World;
  readonly segments: SegmentCache;
  readonly faults: FaultBook;
  readonly clock: SimClock;
  readonly segmentSeconds: () => number;
  readonly defaultBitrate: () => number;
}

/** Segments listed in a live playlist window. */
const LIVE_WINDOW = 6;

interface SegmentPlan {
  /** Segment count now (a recording VOD only lists whole elapsed segments). */
  readonly count: number;
  readonly seconds: (n: number) => number;
  readonly muted: (n: number) => boolean;
  readonly complete: boolean;
}

const plan = (deps: VideoDeps, v: SimVod): SegmentPlan => {
  const seg = deps.segmentSeconds();
  const total = deps.world.vodDuration(v);
  const count = v.recording ? Math.floor(total / seg) : Math.ceil(total / seg);
  const muted = v.mutedSegments ?? [];
  return {
    count,
    seconds: (n) => Math.min(seg, total - n * seg),
    muted: (n) => muted.some((m) => m.offset < (n + 1) * seg && m.offset + m.duration > n * seg),
    complete: !v.recording,
  };
};

/** The media playlist of a VOD, Twitch-style (`N.ts`, `N-muted.ts` for muted stretches). */
export const vodPlaylist = (deps: VideoDeps, v: SimVod): string => {
  const p = plan(deps, v);
  const seg = deps.segmentSeconds();
  const lines = [
    "#EXTM3U",
    "#EXT-X-VERSION:3",
    `#EXT-X-TARGETDURATION:${seg}`,
    `#EXT-X-PLAYLIST-TYPE:${p.complete ? "VOD" : "EVENT"}`,
    `#EXT-X-TWITCH-ELAPSED-SECS:0.000`,
    `#EXT-X-TWITCH-TOTAL-SECS:${deps.world.vodDuration(v).toFixed(3)}`,
    "#EXT-X-MEDIA-SEQUENCE:0",
  ];
  for (let n = 0; n < p.count; n++) {
    lines.push(`#EXTINF:${p.seconds(n).toFixed(3)},`, p.muted(n) ? `${n}-muted.ts` : `${n}.ts`);
  }
  if (p.complete) lines.push("#EXT-X-ENDLIST");
  return `${lines.join("\n")}\n`;
};

const sendPlaylist = (res: ServerResponse, req: IncomingMessage, text: string) => {
  res.writeHead(200, {
    "Content-Type": "application/vnd.apple.mpegurl",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-cache",
  });
  res.end(req.method === "HEAD" ? undefined : text);
};

/**
 * Sends segment bytes; honours a single `Range`, and for a truncate fault sends the
 * headers of the whole but only `fraction` of the body, then cuts the socket.
 */
const sendSegment = (req: IncomingMessage, res: ServerResponse, bytes: Buffer, truncate: number | undefined) => {
  let body = bytes;
  let status = 200;
  const headers: Record<string, string | number> = { "Content-Type": "video/MP2T", "Accept-Ranges": "bytes" };
  const range = req.headers.range;
  const m = range === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(range);
  if (m !== null && (m[1] !== "" || m[2] !== "")) {
    const size = bytes.length;
    let start = m[1] === "" ? size - Number(m[2]) : Number(m[1]);
    let end = m[1] === "" || m[2] === "" ? size - 1 : Math.min(size - 1, Number(m[2]));
    start = Math.max(0, start);
    if (start >= size || end < start) {
      res.writeHead(416, { "Content-Range": `bytes */${size}` }).end();
      return;
    }
    body = bytes.subarray(start, end + 1);
    status = 206;
    headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
  }
  headers["Content-Length"] = body.length;
  res.writeHead(status, headers);
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  if (truncate !== undefined) {
    res.write(body.subarray(0, Math.floor(body.length * truncate)), () => res.destroy());
    return;
  }
  res.end(body);
};

/**
 * HLS for sim VODs and live streams: `/vods/<id>/index.m3u8` with `N.ts` segments, and
 * `/live/<login>/index.m3u8` with a sliding window. Every segment is a shifted copy of
 * one ffmpeg-made file (see `ts-timestamps.ts`), so a VOD of any length costs one
 * generated segment per (length, bitrate).
 */
export const videoRoute = (deps: VideoDeps): Route => async (req, res, url) => {
  const parts = url.pathname.split("/");
  if (parts.length !== 4 || parts[0] !== "" || (parts[1] !== "vods" && parts[1] !== "live")) return false;
  if (req.method !== "GET" && req.method !== "HEAD") return sendText(res, 405, "method not allowed"), true;
  const file = parts[3]!;
  if (parts[1] === "vods") await vod(deps, req, res, parts[2]!, file);
  else await live(deps, req, res, parts[2]!, file);
  return true;
};

const segmentName = /^(\d+)(-muted)?\.ts$/;

const vod = async (deps: VideoDeps, req: IncomingMessage, res: ServerResponse, id: string, file: string) => {
  const v = deps.world.vodsById.get(id);
  if (v === undefined) return sendText(res, 404, "Not Found");
  if (v.restricted) {
    return sendText(res, 403, JSON.stringify([{ error: "vod_manifest_restricted", error_code: "vod_manifest_restricted", url: "" }]), "application/json");
  }
  if (file === "index.m3u8") return sendPlaylist(res, req, vodPlaylist(deps, v));
  const m = segmentName.exec(file);
  if (m === null) return sendText(res, 404, "Not Found");
  const n = Number(m[1]);
  const p = plan(deps, v);
  if (n >= p.count) return sendText(res, 404, "Not Found");
  // Twitch answers 403 for the unmuted name of a muted segment.
  if (p.muted(n) !== (m[2] !== undefined)) return sendText(res, p.muted(n) ? 403 : 404, p.muted(n) ? "Forbidden" : "Not Found");
  const matches = (f: { vodId?: string; segment?: number }) => (f.vodId === undefined || f.vodId === id) && (f.segment === undefined || f.segment === n);
  if (deps.faults.take("segment-404", matches) !== undefined) return sendText(res, 404, "Not Found");
  const truncate = deps.faults.take("segment-truncate", matches)?.fraction;
  const bitrate = v.bitrate ?? deps.defaultBitrate();
  const seg = deps.segmentSeconds();
  const full = await deps.segments.get(seg, bitrate);
  const seconds = p.seconds(n);
  const base = seconds === seg ? full : await deps.segments.get(seconds, bitrate);
  const delta = full.layout.firstPts + n * seg * TS_CLOCK - base.layout.firstPts;
  sendSegment(req, res, shiftTs(base.bytes, base.layout, delta, n, full.layout), truncate);
};

const live = async (deps: VideoDeps, req: IncomingMessage, res: ServerResponse, login: string, file: string) => {
  const c = deps.world.channels.get(login.toLowerCase());
  if (c === undefined || c.live === null) return sendText(res, 404, "Not Found");
  const seg = deps.segmentSeconds();
  const elapsed = Math.max(0, (deps.clock.now() - c.live.startedAt) / 1000);
  const end = Math.floor(elapsed / seg);
  const start = Math.max(0, end - LIVE_WINDOW);
  if (file === "index.m3u8") {
    const lines = ["#EXTM3U", "#EXT-X-VERSION:3", `#EXT-X-TARGETDURATION:${seg}`, `#EXT-X-MEDIA-SEQUENCE:${start}`];
    for (let n = start; n < end; n++) {
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(c.live.startedAt + n * seg * 1000).toISOString()}`, `#EXTINF:${seg.toFixed(3)},live`, `${n}.ts`);
    }
    return sendPlaylist(res, req, `${lines.join("\n")}\n`);
  }
  const m = segmentName.exec(file);
  if (m === null || m[2] !== undefined) return sendText(res, 404, "Not Found");
  const n = Number(m[1]);
  // Segments that slid out of the window stay fetchable for a while, as on a CDN.
  if (n >= end) return sendText(res, 404, "Not Found");
  const base = await deps.segments.get(seg, deps.defaultBitrate());
  sendSegment(req, res, shiftTs(base.bytes, base.layout, n * seg * TS_CLOCK, n), undefined);
};
