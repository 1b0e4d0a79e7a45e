import { describe, expect, it } from "vitest";
import { actorPath, stateString } from "../../../src/actors/inspection.ts";
import type { TreeRef } from "../../../src/actors/inspection.ts";

const ref = (id: string, parent?: TreeRef, src: unknown = id): TreeRef => ({ id, sessionId: `x:${id}`, src, _parent: parent });

describe("inspection", () => {
  it("names actors by their place under their channel", () => {
    const root = ref("supervisor");
    const partition = ref("p7", root, "partition");
    const channel = ref("alice", partition, "channel");
    const processor = ref("processor", channel);
    const breaker = ref("breaker", processor);
    const claim = ref("0.processor.claiming", processor, "claimNext");
    expect(actorPath(root)).toEqual({ channel: null, actor: "supervisor" });
    expect(actorPath(partition)).toEqual({ channel: null, actor: "supervisor.p7" });
    expect(actorPath(channel)).toEqual({ channel: "alice", actor: "channel" });
    expect(actorPath(processor)).toEqual({ channel: "alice", actor: "processor" });
    expect(actorPath(breaker)).toEqual({ channel: "alice", actor: "processor.breaker" });
    expect(actorPath(claim)).toEqual({ channel: "alice", actor: "processor.claimNext" });
  });

  it("writes state values as one string", () => {
    expect(stateString("idle")).toBe("idle");
    expect(stateString({ watching: { live: { session: "recording" } } })).toBe("watching.live.session.recording");
    expect(stateString({ active: { health: "running", chat: "backoff" } })).toBe("active.(health.running, chat.backoff)");
  });
});
