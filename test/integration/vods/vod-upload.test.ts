import { stat } from "node:fs/promises";
import { Effect } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scanCatalog } from "../../../src/services/catalog-scan.ts";
import { TokensRepository } from "../../../src/services/repositories/tokens.ts";
import { VodsRepository } from "../../../src/services/repositories/vods.ts";
import { type Simulator, startSimulator } from "../../../src/sim/simulator.ts";
import { drainChannel } from "./pipeline-driver.ts";
import { type Pipeline, settingsWith, startPipeline } from "./pipeline-harness.ts";

let sim: Simulator;
let pipeline: Pipeline;

type Services = Effect.Services<Parameters<Pipeline["runtime"]["runPromise"]>[0]>;
const on = (p: Pipeline) => <A, E>(effect: Effect.Effect<A, E, Services>) => p.runtime.runPromise(effect);
const run = <A, E>(effect: Effect.Effect<A, E, Services>) => on(pipeline)(effect);
const vodOf = (p: Pipeline, twitchVodId: string) => on(p)(Effect.flatMap(Effect.service(VodsRepository), (vods) => vods.find(twitchVodId)));
const grantYouTube = (p: Pipeline, channel: string) =>
  on(p)(Effect.flatMap(Effect.service(TokensRepository), (tokens) => tokens.put({ provider: "youtube", channel, accessToken: "expired", refreshToken: sim.google.refreshToken })));
const uploadOf = (title: string) => sim.uploads().filter((u) => (u.metadata as { snippet: { title: string } }).snippet.title.includes(title));

const LONG_TITLE = `A very long stream title ${"that goes on ".repeat(12)}and on`;

beforeAll(async () => {
  sim = await startSimulator({
    chat: false,
    scenario: {
      channels: [
        { login: "tuber", id: "4001", vods: [{ id: "8001", duration: "12s", createdAt: "2024-05-01T18:00:00Z", title: LONG_TITLE }] },
        { login: "restart", id: "4002", vods: [{ id: "8002", duration: "12s", createdAt: "2024-05-02T18:00:00Z", title: "Resumed upload" }] },
        { login: "nocred", id: "4003", vods: [{ id: "8003", duration: "8s", createdAt: "2024-05-03T18:00:00Z" }] },
        { login: "skipper", id: "4004", vods: [{ id: "8004", duration: "8s", createdAt: "2024-05-04T18:00:00Z" }] },
      ],
    },
  });
  await sim.prepareVideo();
  pipeline = await startPipeline(sim, { uploadChunkBytes: 4 * 1024 * 1024 });
});
afterAll(async () => {
  await pipeline?.close();
  await sim?.stop();
});

describe("YouTube upload", () => {
  it("an upload cut halfway resumes; the video matches the file's checksum and the local file is deleted", async () => {
    await run(scanCatalog("tuber", { max: 0, maxAgeDays: 0 }));
    await grantYouTube(pipeline, "tuber");
    sim.injectFault({ kind: "upload-interrupt", afterBytes: 200_000, count: 1 });
    const runs = await drainChannel(pipeline.runtime, "tuber", settingsWith({ enabled: true, privacy: "unlisted", deleteAfterUpload: true }));
    expect(runs[0]?.outcome).toMatchObject({ status: "done", attempts: 1 });
    expect(runs[0]?.stages).toEqual(["queued", "preparing", "downloading", "verifying", "uploading", "done"]);
    const vod = await vodOf(pipeline, "8001");
    const [record] = uploadOf("A very long stream title");
    expect(record).toMatchObject({ complete: true, interruptions: 1, received: vod?.fileSize, sha256: vod?.sha256 });
    expect(vod).toMatchObject({ processed: true, youtubeUrl: `https://www.youtube.com/watch?v=${record?.videoId}`, filePath: null, uploadSessionUrl: null });
    const snippet = (record?.metadata as { snippet: { title: string; description: string }; status: { privacyStatus: string } });
    expect([...snippet.snippet.title].length).toBeLessThanOrEqual(100);
    expect(snippet.snippet.title).toMatch(/^2024-05-01 A very long stream title .*\.\.\.$/);
    expect(snippet.snippet.description).toContain("https://www.twitch.tv/videos/8001");
    expect(snippet.status.privacyStatus).toBe("unlisted");
    await expect(stat(runs[0]!.outcome.status === "done" ? runs[0]!.outcome.file.path : "")).rejects.toThrow();
  });

  it("an upload interrupted in one process is resumed by the next from its stored session", async () => {
    await run(scanCatalog("restart", { max: 0, maxAgeDays: 0 }));
    await grantYouTube(pipeline, "restart");
    // A connection that keeps dropping: this process gives up with part of the file sent.
    const cut = sim.injectFault({ kind: "upload-interrupt", afterBytes: 150_000, count: 100, persistent: true });
    const first = await startPipeline(sim, { uploadChunkBytes: 4 * 1024 * 1024, uploadRetries: 1, reuse: { database: pipeline.database, dataDir: pipeline.dataDir } });
    const failed = await drainChannel(first.runtime, "restart", settingsWith({ enabled: true }), { maxAttempts: 1 });
    expect(failed[0]?.outcome).toMatchObject({ status: "failed", permanent: false });
    const stopped = await vodOf(first, "8002");
    await first.close();
    expect(stopped?.uploadSessionUrl).toMatch(/^http/);
    expect(stopped?.uploadRetries).toBe(1);
    const [partial] = uploadOf("Resumed upload");
    expect(partial?.complete).toBe(false);
    const sentBefore = partial!.received;
    expect(sentBefore).toBeGreaterThan(0);
    sim.clearFault(cut);

    // The next process (here: the long-lived pipeline) claims it once the cooldown passed.
    await run(Effect.flatMap(Effect.service(SqlClient), (sql) => sql`UPDATE vods SET next_attempt_at = now() WHERE twitch_vod_id = '8002'`));
    const resumed = await drainChannel(pipeline.runtime, "restart", settingsWith({ enabled: true }));
    expect(resumed[0]?.outcome).toMatchObject({ status: "done" });
    const sessions = uploadOf("Resumed upload");
    expect(sessions).toHaveLength(1);
    const vod = await vodOf(pipeline, "8002");
    expect(sessions[0]).toMatchObject({ complete: true, sha256: vod?.sha256, received: vod?.fileSize });
    // The file stays without deleteAfterUpload.
    expect((await stat(vod!.filePath!)).size).toBe(vod?.fileSize);
  });

  it("without a credential, or for a VOD marked skip_upload, the VOD is processed without an upload", async () => {
    for (const channel of ["nocred", "skipper"]) await run(scanCatalog(channel, { max: 0, maxAgeDays: 0 }));
    await grantYouTube(pipeline, "skipper");
    await run(Effect.flatMap(Effect.service(SqlClient), (sql) => sql`UPDATE vods SET skip_upload = true WHERE twitch_vod_id = '8004'`));
    const uploadsBefore = sim.uploads().length;
    for (const channel of ["nocred", "skipper"]) {
      const runs = await drainChannel(pipeline.runtime, channel, settingsWith({ enabled: true }));
      expect(runs[0]?.outcome).toMatchObject({ status: "done", uploadUrl: null });
      expect(runs[0]?.stages).not.toContain("uploading");
    }
    expect(sim.uploads().length).toBe(uploadsBefore);
    for (const id of ["8003", "8004"]) expect(await vodOf(pipeline, id)).toMatchObject({ processed: true, youtubeUrl: null });
  });
});
