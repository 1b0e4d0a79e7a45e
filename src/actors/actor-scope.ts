/**
 * The Effect side of one actor: the fibers its work runs in and the resources
 * it holds. XState decides *when* work starts and stops; an `ActorScope` makes
 * sure that when the actor goes, its work goes too — fibers interrupted, their
 * scoped resources (subprocesses, sockets, buffers) finalized — and that the
 * wait for it is bounded.
 *
 * Effect scopes have no shutdown timeout of their own. `close` runs the
 * teardown in a detached fiber and waits for it at most `timeoutMs`: a
 * finalizer that hangs is abandoned (and reported by the caller), never
 * waited on forever.
 */
import { Effect, Exit, Fiber, Option, Scope } from "effect";
import type { Context } from "effect";

/** Live totals across every actor scope of a runtime: its own accounting of what runs. */
export class ActorAccounting {
  /** Actor scopes open. */
  scopes = 0;
  /** Work fibers running. */
  fibers = 0;
  /** Resources held open by actors (subscriptions, slots). */
  holds = 0;
}

/** How a close went. */
export interface CloseReport {
  readonly actor: string;
  /** Fibers still running when the deadline passed; 0 when everything finished in time. */
  readonly abandoned: number;
}

/** A resource an actor holds until it lets go. */
export interface Hold<A, E> {
  readonly fiber: Fiber.Fiber<A, E>;
  /** Closes the resource's scope (and interrupts its fiber if it still runs). */
  readonly release: () => void;
}

/** The fibers and held resources of one actor. */
export class ActorScope {
  readonly actor: string;
  private readonly services: Context.Context<never>;
  private readonly accounting: ActorAccounting;
  private readonly fibers = new Set<Fiber.Fiber<unknown, unknown>>();
  private readonly holds = new Set<Scope.Closeable>();
  private closing: Fiber.Fiber<void> | undefined;

  /**
   * @param actor path of the actor, for reports ("alice/processor").
   * @param services the context work runs with (clock, references, ...).
   */
  constructor(actor: string, services: Context.Context<never>, accounting: ActorAccounting) {
    this.actor = actor;
    this.services = services;
    this.accounting = accounting;
    accounting.scopes += 1;
  }

  /** Whether `close` was called; work started after that is interrupted at once. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Fibers of this actor still running. */
  get running(): number {
    return this.fibers.size;
  }

  /**
   * Runs `effect` in a fiber of this actor. Its scoped resources are released
   * when it ends; closing the actor interrupts it.
   */
  run<A, E>(effect: Effect.Effect<A, E, Scope.Scope>): Fiber.Fiber<A, E> {
    return this.track(Effect.runForkWith(this.services)(this.closed ? Effect.interrupt : Effect.scoped(effect)));
  }

  /**
   * Runs `effect` (which acquires something into its scope) and keeps that
   * scope open after it succeeds, until `release` or until the actor closes.
   * For subscriptions and slots held for an actor's whole life.
   */
  hold<A, E>(effect: Effect.Effect<A, E, Scope.Scope>): Hold<A, E> {
    const scope = Scope.makeUnsafe();
    this.holds.add(scope);
    this.accounting.holds += 1;
    let fiber: Fiber.Fiber<A, E> | undefined = undefined;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      fiber?.interruptUnsafe();
      // After `close` the scope is already in its teardown.
      if (this.holds.delete(scope)) {
        this.accounting.holds -= 1;
        this.track(Effect.runForkWith(this.services)(Scope.close(scope, Exit.void)));
      }
    };
    const started: Fiber.Fiber<A, E> = this.run(this.closed ? Effect.interrupt : Scope.provide(scope)(effect));
    fiber = started;
    // A failed acquisition leaves nothing worth holding.
    const settled = started.pollUnsafe();
    if (settled !== undefined) {
      if (Exit.isFailure(settled)) release();
    } else {
      started.addObserver((exit) => {
        if (Exit.isFailure(exit)) release();
      });
    }
    return { fiber: started, release };
  }

  /**
   * Interrupts every fiber, closes every held resource, and waits for all of
   * it at most `timeoutMs`. Idempotent: later calls wait for the same teardown.
   */
  close(timeoutMs: number): Effect.Effect<CloseReport> {
    return Effect.suspend(() => {
      if (this.closing === undefined) {
        const fibers = [...this.fibers];
        const holds = [...this.holds];
        this.holds.clear();
        this.accounting.holds -= holds.length;
        this.accounting.scopes -= 1;
        const teardown = Effect.gen(function* () {
          yield* Fiber.interruptAll(fibers);
          for (const scope of holds) yield* Scope.close(scope, Exit.void);
        });
        // Detached, so a deadline never waits on a finalizer that cannot be interrupted.
        this.closing = Effect.runForkWith(this.services)(teardown);
      }
      const closing = this.closing;
      return Fiber.await(closing).pipe(
        Effect.timeoutOption(timeoutMs),
        Effect.map((done) => ({ actor: this.actor, abandoned: Option.isSome(done) ? 0 : Math.max(1, this.fibers.size) })),
      );
    });
  }

  private track<A, E>(fiber: Fiber.Fiber<A, E>): Fiber.Fiber<A, E> {
    if (fiber.pollUnsafe() !== undefined) return fiber;
    this.fibers.add(fiber);
    this.accounting.fibers += 1;
    fiber.addObserver(() => {
      this.fibers.delete(fiber);
      this.accounting.fibers -= 1;
    });
    return fiber;
  }
}
