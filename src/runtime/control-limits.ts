/**
 * Limits of the `/control` server. Each protects the process from one client:
 * a huge frame, a request flood, a reader too slow for its events, a peer that
 * vanished without closing.
 */

export interface ControlLimits {
  /** Largest request answered; a bigger frame gets `frame_too_large` and the connection stays. */
  readonly maxFrameBytes: number;
  /** Largest frame read at all; a bigger one closes the connection (1009) unread. */
  readonly hardFrameBytes: number;
  /** Sustained requests per second per connection. */
  readonly requestsPerSecond: number;
  /** Requests allowed at once before the rate applies. */
  readonly burst: number;
  /** Consecutive rate-limited requests after which the connection is closed (4029). */
  readonly floodCloseAfter: number;
  /** Bytes queued for a client before it is dropped as a slow consumer (4008). */
  readonly maxBufferedBytes: number;
  /** Ping interval; a peer that has not answered the previous ping is terminated. */
  readonly heartbeatMs: number;
  readonly maxSubscriptions: number;
  readonly maxConnections: number;
  /** How long a command may run before its reply is `timeout` (the command itself continues). */
  readonly commandTimeoutMs: number;
}

/** Defaults sized for an operator's console and scripts, not for public clients. */
export const defaultControlLimits: ControlLimits = {
  maxFrameBytes: 64 * 1024,
  hardFrameBytes: 1024 * 1024,
  requestsPerSecond: 50,
  burst: 200,
  floodCloseAfter: 2_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  heartbeatMs: 30_000,
  maxSubscriptions: 32,
  maxConnections: 256,
  commandTimeoutMs: 30_000,
};
