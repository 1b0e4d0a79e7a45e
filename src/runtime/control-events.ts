/**
 * The control plane's own event hub: a synchronous fan-out of `ControlEvent`s to
 * listeners. It merges the runtime's events (from `ControlBackend.events`) with
 * the ones the control plane produces itself (channel changes, reload reports),
 * so the server subscribes once and sees both.
 *
 * Synchronous on purpose: a listener (a WebSocket connection) only serialises and
 * queues a frame, and the per-event cost must stay flat with 1,000 channels.
 */
import type { ChannelSource } from "../services/channel-settings.ts";
import type { ControlEventListener } from "./control-backend.ts";
import type { ControlEvent } from "./control-protocol.ts";

/** A set of listeners that events are published to. */
export interface ControlEventHub {
  readonly publish: (event: ControlEvent) => void;
  /** Adds a listener; returns the function that removes it. */
  readonly subscribe: (listener: ControlEventListener) => () => void;
  /** Number of listeners, for tests and metrics. */
  readonly size: () => number;
}

/**
 * Creates a hub. A listener that throws is reported through `onListenerError`
 * and stays subscribed: one broken connection must not starve the others.
 */
export const makeControlEventHub = (onListenerError: (error: unknown) => void = () => {}): ControlEventHub => {
  const listeners = new Set<ControlEventListener>();
  return {
    publish: (event) => {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (error) {
          onListenerError(error);
        }
      }
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    size: () => listeners.size,
  };
};

/** Forwards every event of `source` into `hub`; returns the function that stops it. */
export const pipeEvents = (source: (listener: ControlEventListener) => () => void, hub: ControlEventHub): (() => void) =>
  source((event) => hub.publish(event));

/** The current time as the events' `at` field. */
export const eventTime = (now: Date = new Date()): string => now.toISOString();

/** A `channel` event: the control plane publishes one after each channel change it makes. */
export const channelEvent = (
  channel: string,
  change: "added" | "removed" | "paused" | "resumed" | "updated",
  source?: ChannelSource,
): ControlEvent => ({ topic: "channel", channel, at: eventTime(), change, ...(source === undefined ? {} : { source }) });
