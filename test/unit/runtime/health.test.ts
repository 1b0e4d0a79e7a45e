import { describe, expect, it } from "vitest";
import { runReadiness } from "../../../src/runtime/health.ts";

describe("runReadiness", () => {
  it("is ready when every check passes", async () => {
    const report = await runReadiness([
      { name: "database", check: async () => undefined },
      { name: "supervisor", check: async () => undefined },
    ]);
    expect(report).toEqual({ status: "ready", checks: { database: { ok: true }, supervisor: { ok: true } } });
  });

  it("names the first failing check and reports all of them", async () => {
    const report = await runReadiness([
      { name: "database", check: async () => undefined },
      { name: "migrations", check: async () => "2 migrations pending" },
      { name: "supervisor", check: () => Promise.reject(new Error("not started")) },
    ]);
    expect(report.status).toBe("not_ready");
    expect(report.failed_check).toBe("migrations");
    expect(report.error).toBe("2 migrations pending");
    expect(report.checks["supervisor"]).toEqual({ ok: false, error: "not started" });
  });
});
