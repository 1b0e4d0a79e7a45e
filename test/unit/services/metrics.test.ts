import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { makeMetrics } from "../../../src/services/metrics.ts";

const ownMetricNames = async () => {
  const metrics = makeMetrics();
  const all = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
  return { all, own: all.filter((name) => !name.startsWith("vodtender_process_")) };
};

describe("metrics", () => {
  it("documents every metric in docs/metrics.md", async () => {
    const doc = await readFile(new URL("../../../docs/metrics.md", import.meta.url), "utf8");
    const { own } = await ownMetricNames();
    expect(own.length).toBeGreaterThan(10);
    for (const name of own) expect(doc, `docs/metrics.md lacks ${name}`).toContain(`\`${name}\``);
  });

  it("ships a Grafana dashboard that only queries metrics the process exports", async () => {
    const dashboard = JSON.parse(await readFile(new URL("../../../docs/grafana-dashboard.json", import.meta.url), "utf8")) as {
      panels: { targets: { expr: string }[] }[];
    };
    const { all } = await ownMetricNames();
    const exported = new Set(all.flatMap((name) => [name, `${name}_bucket`, `${name}_sum`, `${name}_count`]));
    const queried = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/vodtender_[a-z_]+/g) ?? []));
    expect(queried.length).toBeGreaterThan(10);
    for (const name of queried) expect(exported.has(name), `dashboard queries unknown metric ${name}`).toBe(true);
  });

  it("gives every process its own registry", async () => {
    const a = makeMetrics();
    const b = makeMetrics();
    a.downloadsStarted.inc({ channel: "alpha" });
    expect(await b.registry.getSingleMetricAsString("vodtender_downloads_started_total")).not.toMatch(/alpha/);
  });
});
