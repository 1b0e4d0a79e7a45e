import { describe, expect, it } from "vitest";
import { FaultBook, parseFaultSpec } from "../../../src/sim/faults.ts";
import { InputError } from "../../../src/sim/input-reader.ts";

describe("faults", () => {
  it("fill defaults and reject nonsense", () => {
    expect(parseFaultSpec({ kind: "helix-error", status: 503 })).toEqual({ kind: "helix-error", status: 503, count: 1, persistent: false });
    expect(parseFaultSpec({ kind: "irc-reconnect", channel: "#Alpha" })).toEqual({ kind: "irc-reconnect", channel: "alpha", graceMs: 1000 });
    expect(() => parseFaultSpec({ kind: "upload-interrupt" })).toThrow(InputError);
    expect(() => parseFaultSpec({ kind: "slow", delayMs: 5, speed: 3 })).toThrow(/speed: unknown key/);
  });

  it("hit the next matching requests, count times", () => {
    const book = new FaultBook();
    book.add(parseFaultSpec({ kind: "helix-error", status: 503, endpoint: "videos", count: 2 }), 0);
    const videos = (f: { endpoint?: string }) => f.endpoint === undefined || f.endpoint === "videos";
    const users = (f: { endpoint?: string }) => f.endpoint === undefined || f.endpoint === "users";
    expect(book.take("helix-error", users)).toBeUndefined();
    expect(book.take("helix-error", videos)?.status).toBe(503);
    expect(book.take("helix-error", videos)?.status).toBe(503);
    expect(book.take("helix-error", videos)).toBeUndefined();
    expect(book.armed()).toHaveLength(0);
  });

  it("stay armed when persistent until removed", () => {
    const book = new FaultBook();
    const id = book.add(parseFaultSpec({ kind: "segment-404", vodId: "7", persistent: true }), 0);
    for (let i = 0; i < 5; i++) expect(book.take("segment-404", (f) => f.vodId === "7")).toBeDefined();
    expect(book.remove(id)).toBe(true);
    expect(book.take("segment-404", () => true)).toBeUndefined();
  });

  it("log action faults without arming them", () => {
    const book = new FaultBook();
    book.add(parseFaultSpec({ kind: "expire-tokens" }), 1);
    expect(book.armed()).toHaveLength(0);
    expect(book.history()).toEqual([{ id: "f1", spec: { kind: "expire-tokens", provider: "all" }, at: 1 }]);
  });
});
