/**
 * Placeholder logic for the side effects a machine declares. Machines name
 * their effects (`scan`, `claimNext`, ...) and the actor layer binds them with
 * `machine.provide({ actors })`; a machine started without that binding is a
 * wiring bug, so the placeholder fails loudly instead of pretending to work.
 */
import { fromPromise } from "xstate";
import type { PromiseActorLogic } from "xstate";

/** Logic that rejects with a wiring error; its types declare what the binding must accept and return. */
export const unbound = <Output, Input>(name: string): PromiseActorLogic<Output, Input> =>
  fromPromise<Output, Input>(() =>
    Promise.reject(new Error(`${name} is not bound: the actor layer provides it with machine.provide()`)),
  );
