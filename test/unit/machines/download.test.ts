import { describe, expect, it } from "vitest";
import { SimulatedClock, createActor, fromPromise } from "xstate";
import type { DownloadInput, DownloadOutcome, DownloadedFile, FileStageInput, StageInput, UploadInput } from "../../../src/machines/download.ts";
import { downloadMachine } from "../../../src/machines/download.ts";
import { failure } from "../../../src/machines/failure.ts";
import type { Failure } from "../../../src/machines/failure.ts";

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

type Step<A> = { readonly ok: A } | { readonly fail: Failure | Error } | "hang";

/**
 * Stages that play a script, one step per invocation, and record what they
 * were asked and whether they were stopped (their abort signal).
 */
const scripted = (script: {
  prepare?: Array<Step<void>>;
  download?: Array<Step<DownloadedFile>>;
  verify?: Array<Step<void>>;
  upload?: Array<Step<{ url: string | null }>>;
  slot?: "grant" | "hold";
}) => {
  const calls: Array<{ stage: string; attempt: number }> = [];
  const aborted: Array<string> = [];
  const play = <A, I extends StageInput>(stage: string, steps: Array<Step<A>> | undefined, fallback: A) =>
    fromPromise<A, I>(({ input, signal }) => {
      calls.push({ stage, attempt: input.attempt });
      signal.addEventListener("abort", () => aborted.push(stage));
      const step = steps?.shift() ?? { ok: fallback };
      if (step === "hang") return new Promise<A>(() => {});
      return "ok" in step ? Promise.resolve(step.ok) : Promise.reject(step.fail);
    });
  const file = { path: "/data/alice/v1.mp4", bytes: 1_000 };
  const machine = downloadMachine.provide({
    actors: {
      slot: fromPromise(({ self, signal }) => {
        signal.addEventListener("abort", () => aborted.push("slot"));
        if (script.slot !== "hold") queueMicrotask(() => self._parent?.send({ type: "SLOT.ACQUIRED" }));
        return new Promise<void>(() => {});
      }),
      prepare: play<void, StageInput>("prepare", script.prepare, undefined),
      download: play<DownloadedFile, StageInput>("download", script.download, file),
      verify: play<void, FileStageInput>("verify", script.verify, undefined),
      upload: play<{ url: string | null }, UploadInput>("upload", script.upload, { url: "https://youtu.be/x" }),
    },
  });
  return { machine, calls, aborted, file };
};

const input = (overrides: Partial<DownloadInput> = {}): DownloadInput => ({
  channel: "alice",
  job: { vodId: 1, twitchVodId: "v1", title: "Stream" },
  upload: { enabled: true, privacy: "unlisted", deleteAfterUpload: false },
  maxAttempts: 3,
  backoff: { baseMs: 1_000, maxMs: 60_000 },
  ...overrides,
});

describe("download", () => {
  it("runs queued → preparing → downloading → verifying → uploading → done", async () => {
    const clock = new SimulatedClock();
    const { machine, calls, aborted, file } = scripted({});
    const seen: Array<unknown> = [];
    const actor = createActor(machine, { clock, input: input() });
    actor.subscribe((snapshot) => seen.push(snapshot.value));
    actor.start();
    for (let i = 0; i < 10; i++) await flush();
    expect(seen).toEqual(["queued", "preparing", "downloading", "verifying", "uploading", "done"]);
    expect(calls.map((call) => call.stage)).toEqual(["prepare", "download", "verify", "upload"]);
    const outcome: DownloadOutcome = actor.getSnapshot().output!;
    expect(outcome).toEqual({ status: "done", attempts: 1, file, uploadUrl: "https://youtu.be/x" });
    // Finishing releases the slot.
    expect(aborted).toContain("slot");
  });

  it("skips the upload when uploads are off", async () => {
    const { machine, calls } = scripted({});
    const actor = createActor(machine, { clock: new SimulatedClock(), input: input({ upload: null }) }).start();
    for (let i = 0; i < 10; i++) await flush();
    expect(calls.map((call) => call.stage)).toEqual(["prepare", "download", "verify"]);
    expect(actor.getSnapshot().output).toMatchObject({ status: "done", uploadUrl: null });
  });

  it("records progress sent by the download stage", async () => {
    const clock = new SimulatedClock();
    let release: (file: DownloadedFile) => void = () => {};
    const machine = scripted({}).machine.provide({
      actors: {
        download: fromPromise<DownloadedFile, StageInput>(({ self }) => {
          self._parent?.send({ type: "PROGRESS", progress: { bytes: 500, total: 1_000, percent: 50, speed: 100, eta: 5 } });
          return new Promise((resolve) => (release = resolve));
        }),
      },
    });
    const actor = createActor(machine, { clock, input: input() }).start();
    for (let i = 0; i < 5; i++) await flush();
    expect(actor.getSnapshot().value).toBe("downloading");
    expect(actor.getSnapshot().context.progress).toMatchObject({ bytes: 500, percent: 50 });
    release({ path: "/x", bytes: 1_000 });
    for (let i = 0; i < 10; i++) await flush();
    expect(actor.getSnapshot().status).toBe("done");
  });

  it("retries retryable failures after a growing backoff, then succeeds", async () => {
    const clock = new SimulatedClock();
    const { machine, calls } = scripted({
      download: [{ fail: failure("retryable", "HTTP 503") }, { fail: failure("retryable", "connection reset") }],
    });
    const actor = createActor(machine, { clock, input: input({ maxAttempts: 3 }) }).start();
    for (let i = 0; i < 5; i++) await flush();
    expect(actor.getSnapshot().value).toBe("backoff");
    expect(actor.getSnapshot().context.failure?.message).toBe("HTTP 503");

    clock.increment(999);
    await flush();
    expect(actor.getSnapshot().value).toBe("backoff");
    clock.increment(1);
    for (let i = 0; i < 5; i++) await flush();
    // Second attempt failed too: the next wait doubles.
    expect(actor.getSnapshot().value).toBe("backoff");
    expect(actor.getSnapshot().context.attempt).toBe(2);
    clock.increment(1_999);
    await flush();
    expect(actor.getSnapshot().value).toBe("backoff");
    clock.increment(1);
    for (let i = 0; i < 10; i++) await flush();
    expect(actor.getSnapshot().output).toMatchObject({ status: "done", attempts: 3 });
    expect(calls.filter((call) => call.stage === "prepare").map((call) => call.attempt)).toEqual([1, 2, 3]);
  });

  it("gives up after maxAttempts retryable failures, as a failure that counts", async () => {
    const clock = new SimulatedClock();
    const { machine, calls } = scripted({
      verify: [{ fail: failure("retryable", "truncated") }, { fail: failure("retryable", "truncated") }],
    });
    const actor = createActor(machine, { clock, input: input({ maxAttempts: 2 }) }).start();
    for (let i = 0; i < 8; i++) await flush();
    clock.increment(1_000);
    for (let i = 0; i < 8; i++) await flush();
    expect(actor.getSnapshot().output).toEqual({ status: "failed", attempts: 2, permanent: false, message: "truncated" });
    expect(calls.filter((call) => call.stage === "verify")).toHaveLength(2);
  });

  it("a permanent failure ends at once without retrying", async () => {
    const clock = new SimulatedClock();
    const { machine, calls } = scripted({ download: [{ fail: failure("permanent", "VOD deleted") }] });
    const actor = createActor(machine, { clock, input: input({ maxAttempts: 5 }) }).start();
    for (let i = 0; i < 8; i++) await flush();
    expect(actor.getSnapshot().output).toEqual({ status: "failed", attempts: 1, permanent: true, message: "VOD deleted" });
    expect(calls.map((call) => call.stage)).toEqual(["prepare", "download"]);
  });

  it("cancel stops the running stage and ends canceled, from any active state", async () => {
    for (const [hangAt, state] of [
      ["download", "downloading"],
      ["upload", "uploading"],
    ] as const) {
      const { machine, aborted } = scripted({ [hangAt]: ["hang"] });
      const actor = createActor(machine, { clock: new SimulatedClock(), input: input() }).start();
      for (let i = 0; i < 8; i++) await flush();
      expect(actor.getSnapshot().value).toBe(state);
      actor.send({ type: "CANCEL" });
      expect(actor.getSnapshot().output).toEqual({ status: "canceled", attempts: 1 });
      expect(aborted).toEqual(expect.arrayContaining([hangAt, "slot"]));
    }

    // While waiting for a slot, and while backing off.
    const queued = scripted({ slot: "hold" });
    const waiting = createActor(queued.machine, { clock: new SimulatedClock(), input: input() }).start();
    expect(waiting.getSnapshot().value).toBe("queued");
    waiting.send({ type: "CANCEL" });
    expect(waiting.getSnapshot().output).toMatchObject({ status: "canceled" });
    expect(queued.aborted).toContain("slot");

    const clock = new SimulatedClock();
    const retrying = scripted({ prepare: [{ fail: failure("retryable", "busy") }] });
    const backingOff = createActor(retrying.machine, { clock, input: input() }).start();
    for (let i = 0; i < 5; i++) await flush();
    expect(backingOff.getSnapshot().value).toBe("backoff");
    backingOff.send({ type: "CANCEL" });
    expect(backingOff.getSnapshot().output).toMatchObject({ status: "canceled" });
    clock.increment(10_000);
    expect(retrying.calls.filter((call) => call.stage === "prepare")).toHaveLength(1);
  });

  it("a crash in a stage is left to the supervisor: the machine errors", async () => {
    const { machine } = scripted({ download: [{ fail: new TypeError("cannot read properties of undefined") }] });
    const errors: Array<unknown> = [];
    const actor = createActor(machine, { clock: new SimulatedClock(), input: input() });
    actor.subscribe({ error: (error) => errors.push(error) });
    actor.start();
    for (let i = 0; i < 8; i++) await flush();
    expect(actor.getSnapshot().status).toBe("error");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TypeError);

    const crash = scripted({ prepare: [{ fail: failure("crash", "defect") }] });
    const crashed = createActor(crash.machine, { clock: new SimulatedClock(), input: input() });
    crashed.subscribe({ error: () => {} });
    crashed.start();
    for (let i = 0; i < 8; i++) await flush();
    expect(crashed.getSnapshot().status).toBe("error");
  });
});
