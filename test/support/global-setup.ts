import type { TestProject } from "vitest/node";
import { startTestPostgres } from "./postgres-server.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Superuser URL of the one embedded PostgreSQL cluster the whole run shares. */
    postgresAdminUrl: string;
  }
}

// One cluster for the whole run: initdb costs about a second, a database costs milliseconds.
export default async function setup(project: TestProject) {
  const server = await startTestPostgres();
  project.provide("postgresAdminUrl", server.adminUrl);
  return async () => {
    await server.stop();
  };
}
