/**
 * Reading a `/control` upgrade request: the bearer token (an `Authorization`
 * header, or a `bearer.<token>` subprotocol for browsers, which cannot set
 * headers on a WebSocket), the protocol versions offered, and who is calling
 * (for `audit_log`).
 */
import type { IncomingMessage } from "node:http";
import { BEARER_SUBPROTOCOL_PREFIX } from "./control-protocol.ts";

/** What the handshake says about the client. */
export interface UpgradeCredentials {
  /** The token presented, if any. */
  readonly token: string | undefined;
  /** Subprotocols offered, without the one carrying the token. */
  readonly protocols: ReadonlyArray<string>;
}

/** Header a client may set to name itself in the audit log (`ctl` sends `ctl user@host`). */
export const CLIENT_HEADER = "x-vod-tender-client";

const offeredProtocols = (req: IncomingMessage): ReadonlyArray<string> =>
  (req.headers["sec-websocket-protocol"] ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");

/** Extracts the token and the versions offered from an upgrade request. */
export const readUpgradeCredentials = (req: IncomingMessage): UpgradeCredentials => {
  const offered = offeredProtocols(req);
  const header = req.headers.authorization;
  const fromHeader = header !== undefined && /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, "").trim() : undefined;
  const fromProtocol = offered.find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX))?.slice(BEARER_SUBPROTOCOL_PREFIX.length);
  return {
    token: fromHeader !== undefined && fromHeader !== "" ? fromHeader : fromProtocol,
    protocols: offered.filter((p) => !p.startsWith(BEARER_SUBPROTOCOL_PREFIX)),
  };
};

const clean = (text: string, max: number) => text.replace(/[^\x20-\x7e]/g, "?").slice(0, max);

/**
 * Names the caller for `audit_log`: the client's own name (header) or its user
 * agent, and its address. Not an identity proof: everyone holds the same token.
 */
export const describeCaller = (req: IncomingMessage): string => {
  const named = req.headers[CLIENT_HEADER];
  const client = typeof named === "string" && named.trim() !== "" ? named : (req.headers["user-agent"] ?? "unknown client");
  const address = req.socket.remoteAddress ?? "unknown address";
  return `${clean(client, 80)} from ${address}`;
};
