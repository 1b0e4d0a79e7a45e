/**
 * How many chat messages a second the simulator pushes to real tmi.js clients over
 * loopback. The simulator runs in this process (one thread, so at most one core); tmi.js
 * clients run in child processes, each with several connections joined to a share of the
 * channels. Chat is offered faster than clients read, so `msgs_per_s` is what tmi.js
 * actually received and parsed. tmi.js parses roughly 30–40k messages a second per core,
 * so on a small machine the clients are the limit: the simulator's CPU share and its
 * cost per message (`sim_us_per_msg`, and `sim_capacity_msgs_per_s`, the rate one full
 * core of simulator would sustain at that cost) show how far it is from being one.
 * `--raw` swaps tmi.js for a bare WebSocket reader that only counts lines, which
 * measures the simulator's own ceiling.
 *
 *   node bench/sim.ts [--channels 1000] [--connections 10] [--clients 2] [--seconds 10] [--rate 150] [--raw]
 *
 * The last line of output is one JSON object with the figures.
 */
import { fork } from "node:child_process";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const { values } = parseArgs({
  options: {
    channels: { type: "string", default: "1000" },
    connections: { type: "string", default: "10" },
    clients: { type: "string", default: "2" },
    raw: { type: "boolean", default: false },
    seconds: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    rate: { type: "string", default: "150" },
    client: { type: "boolean", default: false },
    port: { type: "string" },
    logins: { type: "string" },
  },
});

interface ClientReport {
  readonly type: "ready" | "count";
  readonly received: number;
  readonly cpuMicros: number;
}

const countedEvents = [
  "message",
  "cheer",
  "subscription",
  "resub",
  "subgift",
  "raided",
  "usernotice",
  "timeout",
  "ban",
  "clearchat",
  "messagedeleted",
  "roomstate",
  "emoteonly",
] as const;

interface Closable {
  close(): void;
}

/** Bare reader: logs in, joins, counts CR LF-terminated lines and parses nothing. */
const rawConnection = async (port: number, nick: string, logins: readonly string[], count: (n: number) => void): Promise<Closable> => {
  const { default: WebSocket } = await import("ws");
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, "irc");
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let joined = 0;
  let ready: () => void = () => {};
  const done = new Promise<void>((r) => (ready = r));
  ws.on("message", (data: Buffer) => {
    let n = 0;
    for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, i + 1)) n++;
    if (joined < logins.length) {
      joined += data.toString("latin1").split(" 366 ").length - 1;
      if (joined >= logins.length) ready();
      return;
    }
    count(n);
  });
  ws.send("CAP REQ :twitch.tv/tags twitch.tv/commands");
  ws.send(`NICK ${nick}`);
  ws.send(`JOIN ${logins.map((l) => `#${l}`).join(",")}`);
  await done;
  return { close: () => ws.close() };
};

const runClient = async (): Promise<void> => {
  const logins = values.logins!.split(",");
  const connections = Number(values.connections);
  let received = 0;
  const count = () => void received++;
  // The parent may go away between two reports.
  process.on("error", () => process.exit(0));
  if (values.raw) {
    const port = Number(values.port);
    const conns = await Promise.all(
      Array.from({ length: connections }, (_, i) =>
        rawConnection(port, `justinfan${process.pid}${i}`, logins.filter((_, j) => j % connections === i), (n) => void (received += n)),
      ),
    );
    report(() => received, () => conns.forEach((c) => c.close()));
    return;
  }
  const { default: tmi } = await import("tmi.js");
  const clients = await Promise.all(
    Array.from({ length: connections }, async (_, i) => {
      const share = logins.filter((_, j) => j % connections === i);
      const c = new tmi.Client({ connection: { server: "127.0.0.1", port: Number(values.port), secure: false, reconnect: false }, options: { skipUpdatingEmotesets: true } });
      for (const e of countedEvents) c.on(e as "message", count);
      await c.connect();
      await Promise.all(share.map((l) => c.join(l)));
      return c;
    }),
  );
  report(
    () => received,
    () => clients.forEach((c) => void c.disconnect().catch(() => undefined)),
  );
};

/** Reports the running count and CPU time to the parent four times a second. */
const report = (received: () => number, close: () => void): void => {
  const send = (r: ClientReport) => {
    if (process.connected) process.send!(r);
  };
  send({ type: "ready", received: received(), cpuMicros: 0 });
  const cpu0 = process.cpuUsage();
  setInterval(() => {
    const cpu = process.cpuUsage(cpu0);
    send({ type: "count", received: received(), cpuMicros: cpu.user + cpu.system });
  }, 250);
  process.on("disconnect", () => {
    close();
    process.exit(0);
  });
};

const runBench = async (): Promise<void> => {
  const { startSimulator } = await import("../src/sim/simulator.ts");
  const channels = Number(values.channels);
  const clientsN = Number(values.clients);
  const seconds = Number(values.seconds);
  const logins = Array.from({ length: channels }, (_, i) => `bench${i}`);
  const sim = await startSimulator({
    recordLines: false,
    chat: true,
    scenario: {
      seed: 1,
      irc: { joinRateLimit: false, slowConsumerBytes: 512 * 1024 * 1024 },
      channels: logins.map((login, i) => ({ login, id: String(10_000 + i), live: { archive: false }, chat: { rate: 0, chatters: 100 } })),
    },
  });
  const self = fileURLToPath(import.meta.url);
  const reports = new Map<number, ClientReport>();
  const children = Array.from({ length: clientsN }, (_, i) => {
    const share = logins.filter((_, j) => j % clientsN === i);
    const child = fork(self, [...(values.raw ? ["--raw"] : []), "--client", "--port", String(sim.tmi.port), "--connections", String(Math.max(1, Math.round(Number(values.connections) / clientsN))), "--logins", share.join(",")], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    child.on("message", (m: ClientReport) => reports.set(i, m));
    return child;
  });
  const started = Date.now();
  while (reports.size < clientsN || [...reports.values()].some((r) => r.type !== "count")) {
    if (Date.now() - started > 120_000) throw new Error("clients did not join in two minutes");
    await new Promise((r) => setTimeout(r, 100));
  }
  const joined = sim.state().channels.filter((c) => c.chatConnections > 0).length;
  process.stdout.write(
    `${clientsN} ${values.raw ? "raw" : "tmi.js"} client process(es), ${values.connections} connections, ${joined}/${channels} channels joined in ${Date.now() - started} ms\n`,
  );
  for (const login of logins) sim.setChatRate(login, Number(values.rate));
  const total = () => [...reports.values()].reduce((n, r) => n + r.received, 0);
  const clientCpu = () => [...reports.values()].reduce((n, r) => n + r.cpuMicros, 0);
  await new Promise((r) => setTimeout(r, Number(values.warmup) * 1000));

  const r0 = total();
  const s0 = sim.state().linesSent;
  const c0 = clientCpu();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 1; i <= seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    process.stdout.write(`  ${i}s: ${Math.round((total() - r0) / ((performance.now() - t0) / 1000))} msg/s delivered\n`);
  }
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const sent = sim.state().linesSent - s0;
  const simMicros = cpu.user + cpu.system;
  const figures = {
    msgs_per_s: Math.round((total() - r0) / elapsed),
    sent_per_s: Math.round(sent / elapsed),
    client: values.raw ? "raw" : "tmi.js",
    channels,
    connections: Number(values.connections),
    client_processes: clientsN,
    seconds: Math.round(elapsed * 10) / 10,
    sim_cpu_percent: Math.round((simMicros / 1e6 / elapsed) * 100),
    sim_us_per_msg: Math.round((simMicros / Math.max(1, sent)) * 100) / 100,
    sim_capacity_msgs_per_s: Math.round((sent * 1e6) / Math.max(1, simMicros)),
    clients_cpu_percent: Math.round(((clientCpu() - c0) / 1e6 / elapsed) * 100),
    slow_consumers_cut: sim.state().irc.slowConsumersCut,
  };
  for (const c of children) c.disconnect();
  await sim.stop();
  process.stdout.write(`${JSON.stringify(figures)}\n`);
};

if (values.client) await runClient();
else await runBench();
