import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scanCatalog } from "../../../src/services/catalog-scan.ts";
import { VodsRepository } from "../../../src/services/repositories/vods.ts";
import { VodProcessing } from "../../../src/services/vod-processing.ts";
import { type Simulator, startSimulator } from "../../../src/sim/simulator.ts";
import { type Pipeline, startPipeline } from "./pipeline-harness.ts";

// Twitch lists a stream's archive VOD while the stream is still running; it must
// not be downloaded until the stream has ended.
describe("the archive of a stream still live", () => {
  let sim: Simulator;
  let pipeline: Pipeline;

  beforeAll(async () => {
    sim = await startSimulator({ chat: false, uploadDir: null, scenario: { channels: [{ login: "onair", id: "3001", live: true }] } });
    pipeline = await startPipeline(sim, { slots: 1 });
  });
  afterAll(async () => {
    await pipeline?.close();
    await sim?.stop();
  });

  it("is deferred while its stream is on air and claimed once the stream has ended", async () => {
    const run = pipeline.runtime.runPromise;
    await run(scanCatalog("onair", { max: 0, maxAgeDays: 0 }));
    const [archive] = (await run(Effect.flatMap(Effect.service(VodsRepository), (vods) => vods.list({ channel: "onair", limit: 10, offset: 0 })))).items;
    expect(archive?.streamId).not.toBeNull();

    const whileLive = await run(Effect.flatMap(Effect.service(VodProcessing), (p) => p.claimNext("onair")));
    expect(whileLive).toBeUndefined();
    const deferred = await run(Effect.flatMap(Effect.service(VodsRepository), (vods) => vods.get(archive!.id)));
    expect(deferred?.downloadState).toBe("deferred");

    sim.setLive("onair", false);
    // The deferral is a time; make it due now, as if ten minutes had passed.
    await run(Effect.flatMap(Effect.service(VodsRepository), (vods) => vods.reprocess(archive!.id)));
    const afterStream = await run(Effect.flatMap(Effect.service(VodProcessing), (p) => p.claimNext("onair")));
    expect(afterStream?.job.twitchVodId).toBe(archive?.twitchVodId);
    await run(Effect.flatMap(Effect.service(VodProcessing), (p) => p.release(afterStream!.job.vodId)));
  });
});
