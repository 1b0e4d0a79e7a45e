/**
 * The Helix client pointed at a simulator, with retries short enough for
 * tests; every exchange is reported to `onRequest`.
 */
import { Helix, type HelixRequestInfo } from "../../src/services/helix.ts";
import type { Simulator } from "../../src/sim/simulator.ts";

export const simHelixLayer = (sim: Simulator, onRequest: (info: HelixRequestInfo) => void) =>
  Helix.layer({
    helixUrl: sim.urls.helix,
    oauthUrl: sim.urls.oauth,
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    retryBaseMs: 20,
    retryMaxDelayMs: 200,
    onRequest,
  });
