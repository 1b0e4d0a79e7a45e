import { Effect, Exit, Scope } from "effect";
import { describe, expect, it } from "vitest";
import { parseListenAddress, sendJson, serveHttp } from "../../../src/runtime/http-server.ts";

describe("parseListenAddress", () => {
  it("reads host:port, the Go original's :port and a bare port", () => {
    expect(parseListenAddress("127.0.0.1:8080")).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(parseListenAddress(":8080")).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(parseListenAddress("9000")).toEqual({ host: "0.0.0.0", port: 9000 });
    expect(parseListenAddress("[::1]:81")).toEqual({ host: "::1", port: 81 });
  });

  it("names HTTP_ADDR when the value is not an address", () => {
    expect(() => parseListenAddress("localhost:http")).toThrow(/HTTP_ADDR/);
    expect(() => parseListenAddress("127.0.0.1:99999")).toThrow(/HTTP_ADDR/);
  });
});

describe("serveHttp", () => {
  const start = async () => {
    const scope = Effect.runSync(Scope.make());
    const server = await Effect.runPromise(
      serveHttp({
        address: "127.0.0.1:0",
        routes: [
          { method: "GET", path: "/hello", handle: (_req, res) => sendJson(res, 200, { hello: "world" }) },
          { method: "GET", path: /^\/vods\/(?<id>\d+)$/, handle: (_req, res, params) => sendJson(res, 200, params) },
          { method: "GET", path: "/boom", handle: () => Promise.reject(new Error("kaput")) },
        ],
      }).pipe(Scope.provide(scope)),
    );
    return { server, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) };
  };

  it("routes exact and pattern paths, and answers 404, 405 and 500 as JSON", async () => {
    const { server, close } = await start();
    try {
      expect(await (await fetch(`${server.url}/hello`)).json()).toEqual({ hello: "world" });
      expect(await (await fetch(`${server.url}/vods/42?x=1`)).json()).toEqual({ id: "42" });
      const missing = await fetch(`${server.url}/nope`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ error: { code: "not_found" } });
      expect((await fetch(`${server.url}/hello`, { method: "POST" })).status).toBe(405);
      const boom = await fetch(`${server.url}/boom`);
      expect(boom.status).toBe(500);
    } finally {
      await close();
    }
  });

  it("stops listening when its scope closes", async () => {
    const { server, close } = await start();
    await close();
    await expect(fetch(`${server.url}/hello`)).rejects.toThrow();
  });

  it("fails with a typed error naming the address when the port is taken", async () => {
    const { server, close } = await start();
    try {
      const exit = await Effect.runPromiseExit(Effect.scoped(serveHttp({ address: `127.0.0.1:${server.port}`, routes: [] })));
      expect(Exit.isFailure(exit)).toBe(true);
      expect(JSON.stringify(exit)).toMatch(/already in use/);
    } finally {
      await close();
    }
  });
});
