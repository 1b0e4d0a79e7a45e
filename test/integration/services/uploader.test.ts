import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Deferred, Effect, Fiber } from "effect";
import { fileChecksum } from "../../../src/services/checksum.ts";
import { makeUploader, UPLOAD_CHUNK_UNIT, type UploaderOptions } from "../../../src/services/uploader.ts";
import { type Simulator, startSimulator } from "../../../src/sim/simulator.ts";

const MiB = 1024 * 1024;

describe("YouTube resumable uploads against the simulator", () => {
  let sim: Simulator;
  let dir: string;
  let file: string;
  let sha256: string;
  const SIZE = 3 * MiB + 12_345;

  beforeAll(async () => {
    sim = await startSimulator({ scenario: { channels: [{ login: "alpha" }] }, chat: false, uploadDir: null });
    dir = await mkdtemp(join(tmpdir(), "vt-uploader-"));
    file = join(dir, "2026-01-02_100001_Some VOD.mp4");
    await writeFile(file, randomBytes(SIZE));
    sha256 = (await Effect.runPromise(fileChecksum(file))).sha256;
  });
  afterAll(async () => {
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const uploaderFor = (overrides: Partial<UploaderOptions> = {}) =>
    makeUploader({
      uploadUrl: sim.urls.youtubeUpload,
      googleOAuthUrl: sim.urls.googleOAuth,
      clientId: sim.google.clientId,
      clientSecret: sim.google.clientSecret,
      chunkSizeBytes: MiB,
      retryBaseMs: 20,
      retryMaxDelayMs: 100,
      ...overrides,
    });

  const metadata = { title: "2026-01-02 Some VOD", description: "Archived from twitch.tv/alpha", privacyStatus: "private" } as const;
  const recordOf = (sessionUrl: string) => sim.uploads().find((r) => sessionUrl.includes(r.uploadId));

  it.live("resumes a PUT cut off halfway from the byte the server kept, ending with the same bytes", () =>
    Effect.gen(function* () {
      const uploader = yield* uploaderFor();
      const sessions: Array<string> = [];
      sim.injectFault({ kind: "upload-interrupt", afterBytes: 600_000, count: 1 });
      const result = yield* uploader.upload({
        filePath: file,
        metadata,
        refreshToken: sim.google.refreshToken,
        onSession: (url) => Effect.sync(() => sessions.push(url)),
      });
      expect(result.url).toBe(`https://www.youtube.com/watch?v=${result.videoId}`);
      expect(sessions).toEqual([result.sessionUrl]);
      const record = recordOf(result.sessionUrl)!;
      expect(record).toMatchObject({ complete: true, received: SIZE, sha256, videoId: result.videoId, interruptions: 1 });
      expect(record.metadata).toMatchObject({ snippet: { title: metadata.title }, status: { privacyStatus: "private" } });
    }),
  );

  it.live("continues a session persisted by a process that stopped mid-upload", () =>
    Effect.gen(function* () {
      const slow = sim.injectFault({ kind: "slow", path: "/upload", delayMs: 50, persistent: true });
      let persisted: string | undefined;
      const halfway = yield* Deferred.make<void>();
      const first = yield* uploaderFor({ chunkSizeBytes: UPLOAD_CHUNK_UNIT });
      const running = yield* Effect.forkChild(
        first.upload({
          filePath: file,
          metadata,
          refreshToken: sim.google.refreshToken,
          onSession: (url) => Effect.sync(() => (persisted = url)),
          onProgress: (sent) => {
            if (sent >= MiB) Deferred.doneUnsafe(halfway, Effect.void);
          },
        }),
      );
      yield* Deferred.await(halfway);
      yield* Fiber.interrupt(running);
      sim.clearFault(slow);
      expect(persisted).toBeDefined();
      const before = recordOf(persisted!)!;
      expect(before.complete).toBe(false);
      expect(before.received).toBeGreaterThanOrEqual(MiB);

      // A new process: fresh uploader, fresh token cache, only the persisted URL.
      const second = yield* uploaderFor();
      const sessions = sim.uploads().length;
      const result = yield* second.upload({ filePath: file, metadata, refreshToken: sim.google.refreshToken, sessionUrl: persisted });
      expect(result.sessionUrl).toBe(persisted);
      expect(result.resumedFromBytes).toBe(before.received);
      expect(sim.uploads()).toHaveLength(sessions);
      expect(recordOf(persisted!)).toMatchObject({ complete: true, received: SIZE, sha256 });
    }),
  );

  it.live("reuses its access token across uploads and refreshes it once Google refuses it", () =>
    Effect.gen(function* () {
      const uploader = yield* uploaderFor();
      const first = yield* uploader.upload({ filePath: file, metadata, refreshToken: sim.google.refreshToken });
      const second = yield* uploader.upload({ filePath: file, metadata, refreshToken: sim.google.refreshToken });
      expect(yield* uploader.tokens.refreshes).toBe(1);
      // Every Google access token issued so far stops working; opening the next session gets 401.
      sim.injectFault({ kind: "expire-tokens", provider: "google" });
      const third = yield* uploader.upload({ filePath: file, metadata, refreshToken: sim.google.refreshToken });
      expect(yield* uploader.tokens.refreshes).toBe(2);
      for (const result of [first, second, third]) expect(recordOf(result.sessionUrl)).toMatchObject({ complete: true, sha256 });
    }),
  );

  it.live("retries 5xx answers", () =>
    Effect.gen(function* () {
      const uploader = yield* uploaderFor();
      sim.injectFault({ kind: "http-error", status: 503, path: "/upload", count: 2 });
      const result = yield* uploader.upload({ filePath: file, metadata, refreshToken: sim.google.refreshToken });
      expect(recordOf(result.sessionUrl)).toMatchObject({ complete: true, sha256 });
    }),
  );

  it.live("opens a new session when the persisted one is gone", () =>
    Effect.gen(function* () {
      const uploader = yield* uploaderFor();
      const sessions: Array<string> = [];
      const stale = `${sim.urls.youtubeUpload}/videos?uploadType=resumable&upload_id=expired-session`;
      const result = yield* uploader.upload({
        filePath: file,
        metadata,
        refreshToken: sim.google.refreshToken,
        sessionUrl: stale,
        onSession: (url) => Effect.sync(() => sessions.push(url)),
      });
      expect(sessions).toEqual([result.sessionUrl]);
      expect(result.sessionUrl).not.toBe(stale);
      expect(result.resumedFromBytes).toBe(0);
      expect(recordOf(result.sessionUrl)).toMatchObject({ complete: true, sha256 });
    }),
  );

  it.live("fails without retrying when the refresh token is revoked", () =>
    Effect.gen(function* () {
      const uploader = yield* uploaderFor();
      const error = yield* Effect.flip(uploader.upload({ filePath: file, metadata, refreshToken: "1//revoked" }));
      expect(error).toMatchObject({ _tag: "UploadError", reason: "auth", retryable: false, status: 400 });
    }),
  );

  it.live("fails on a file that is not there", () =>
    Effect.gen(function* () {
      const uploader = yield* uploaderFor();
      const error = yield* Effect.flip(
        uploader.upload({ filePath: join(dir, "missing.mp4"), metadata, refreshToken: sim.google.refreshToken }),
      );
      expect(error).toMatchObject({ reason: "file", retryable: false });
    }),
  );
});
