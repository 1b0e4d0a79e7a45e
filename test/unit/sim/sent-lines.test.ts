import { describe, expect, it } from "vitest";
import { SentLines } from "../../../src/sim/sent-lines.ts";

describe("SentLines", () => {
  it("counts lines per channel and those nobody received, recording or not", () => {
    for (const recording of [true, false]) {
      const sent = new SentLines(recording);
      sent.add("alpha", "line 1", "PRIVMSG", "a1", 1, 2, "generated");
      sent.add("alpha", "line 2", "PRIVMSG", "a2", 2, 0, "generated");
      sent.add("beta", "line 3", "CLEARCHAT", null, 3, 1, "generated");
      sent.clear();
      expect(sent.count).toBe(3);
      expect(sent.undelivered).toBe(1);
      expect(Object.fromEntries(sent.countsByChannel())).toEqual({ alpha: 2, beta: 1 });
      expect(sent.list()).toEqual([]);
    }
  });
});
