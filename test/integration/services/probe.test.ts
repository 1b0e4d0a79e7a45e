import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { execa } from "execa";
import { Probe, probeFile, verifyDuration } from "../../../src/services/probe.ts";

describe("ffprobe", () => {
  let dir: string;
  let clip: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vt-probe-"));
    clip = join(dir, "clip.mp4");
    await execa("ffmpeg", [
      "-loglevel", "error",
      "-f", "lavfi", "-i", "testsrc=size=320x180:rate=30",
      "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
      "-t", "7", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-ac", "2",
      clip,
    ]);
    await writeFile(join(dir, "garbage.mp4"), Buffer.alloc(4096, 7));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.live("summarises a video file's length, container and streams", () =>
    Effect.gen(function* () {
      const result = yield* probeFile(clip);
      expect(result.formatName).toContain("mp4");
      expect(result.hasVideo).toBe(true);
      expect(result.hasAudio).toBe(true);
      expect(result.sizeBytes).toBeGreaterThan(0);
      const video = result.streams.find((s) => s.type === "video")!;
      expect(video).toMatchObject({ codec: "h264", width: 320, height: 180, frameRate: 30 });
      expect(result.streams.find((s) => s.type === "audio")).toMatchObject({ codec: "aac", sampleRate: 48000, channels: 2 });
      yield* verifyDuration(7, result.durationSeconds, 0.5);
    }),
  );

  it.live("tells a missing file from one that is not media", () =>
    Effect.gen(function* () {
      expect((yield* Effect.flip(probeFile(join(dir, "nope.mp4")))).reason).toBe("missing");
      expect((yield* Effect.flip(probeFile(join(dir, "garbage.mp4")))).reason).toBe("invalid");
    }),
  );

  it.live("fails when ffprobe itself cannot run", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(probeFile(clip, { ffprobePath: join(dir, "no-ffprobe") }));
      expect(error.reason).toBe("failed");
    }),
  );

  it.live("is available as the Probe service", () =>
    Effect.gen(function* () {
      const probe = yield* Probe;
      expect((yield* probe.probe(clip)).hasVideo).toBe(true);
    }).pipe(Effect.provide(Probe.layer({ ffprobePath: "/usr/bin/ffprobe" }))),
  );
});
