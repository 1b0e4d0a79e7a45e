/**
 * A PostgreSQL cluster of the test's own, which the test may stop and start
 * again (the shared cluster of the run must stay up for everyone else).
 */
import { startRestartablePostgres } from "../../support/postgres-server.ts";
import type { RestartablePostgres } from "../../support/postgres-server.ts";

export interface OwnPostgres extends RestartablePostgres {
  readonly url: string;
}

export const startOwnPostgres = async (): Promise<OwnPostgres> => {
  const cluster = await startRestartablePostgres();
  return {
    get url() {
      return cluster.adminUrl;
    },
    get adminUrl() {
      return cluster.adminUrl;
    },
    stop: cluster.stop,
    start: cluster.start,
    destroy: cluster.destroy,
  };
};
