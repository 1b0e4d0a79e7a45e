/**
 * The event subscriptions of one `/control` connection: which topics, for which
 * channels. Matching is a set lookup per subscription, so fan-out cost does not
 * grow with the number of channels a subscription names.
 */
import type { ControlEvent, EventTopic } from "./control-protocol.ts";
import { eventTopics } from "./control-protocol.ts";

/** One subscription; `channels` null means every channel (and process-wide events). */
export interface Subscription {
  readonly id: string;
  readonly topics: ReadonlySet<EventTopic>;
  readonly channels: ReadonlySet<string> | null;
}

/** The subscriptions of a connection. */
export interface SubscriptionSet {
  /** Adds a subscription; undefined when the connection already has `max` of them. */
  readonly add: (filter: { readonly topics?: ReadonlyArray<EventTopic>; readonly channels?: ReadonlyArray<string> }) => Subscription | undefined;
  readonly remove: (id: string) => boolean;
  /** Ids of the subscriptions that want `event`, in creation order. */
  readonly matching: (event: ControlEvent) => ReadonlyArray<string>;
  readonly size: () => number;
}

/** Creates an empty set allowing at most `max` subscriptions. */
export const makeSubscriptionSet = (max: number): SubscriptionSet => {
  const subscriptions = new Map<string, Subscription>();
  let next = 1;
  return {
    add: (filter) => {
      if (subscriptions.size >= max) return undefined;
      const subscription: Subscription = {
        id: `s${next++}`,
        topics: new Set(filter.topics ?? eventTopics),
        channels: filter.channels === undefined ? null : new Set(filter.channels),
      };
      subscriptions.set(subscription.id, subscription);
      return subscription;
    },
    remove: (id) => subscriptions.delete(id),
    matching: (event) => {
      if (subscriptions.size === 0) return [];
      const ids: Array<string> = [];
      for (const subscription of subscriptions.values()) {
        if (!subscription.topics.has(event.topic)) continue;
        // A channel filter still lets process-wide events (channel null, e.g. reload reports) through.
        if (subscription.channels !== null && event.channel !== null && !subscription.channels.has(event.channel)) continue;
        ids.push(subscription.id);
      }
      return ids;
    },
    size: () => subscriptions.size,
  };
};
