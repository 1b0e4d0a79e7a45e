/**
 * What a channel's children tell their channel. Children send these with
 * `sendParent`; the channel machine turns them into its health (`running` or
 * `degraded`) and routes work between siblings (a catalog scan wakes the
 * processor).
 */

/** The children of a channel, in start order (they stop in the reverse order). */
export const CHILD_NAMES = ["catalog", "processor", "chat"] as const;

/** A child of a channel. */
export type ChildName = (typeof CHILD_NAMES)[number];

/**
 * `CHILD.READY`: the child is doing its job. `CHILD.DEGRADED`: it runs but
 * cannot do its job (a tool is missing), with the reason. `CATALOG.SCANNED`:
 * a scan finished, so there may be work for the processor.
 */
export type ChildReport =
  | { readonly type: "CHILD.READY"; readonly child: ChildName }
  | { readonly type: "CHILD.DEGRADED"; readonly child: ChildName; readonly reason: string }
  | { readonly type: "CATALOG.SCANNED"; readonly found: number; readonly added: number };
