import { assert, describe, it } from "@effect/vitest";
import { Effect, Layer, Redacted } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { chatPartitionName, listChatPartitions } from "../../../src/services/chat-partitions.ts";
import { databaseLayer, databaseTarget, embeddedPostgresSettings } from "../../../src/services/database.ts";
import { createTestDatabase } from "../../support/database.ts";

// A port nothing listens on: bound, then released.
const closedPort = Effect.promise(
  () =>
    new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
      });
    }),
);

const build = <E>(layer: Layer.Layer<SqlClient, E>) => Layer.build(layer).pipe(Effect.scoped);

describe("database layer", () => {
  it.live("fails with a typed error naming host and port, not the password, when the database is down", () =>
    Effect.gen(function* () {
      const port = yield* closedPort;
      const url = Redacted.make(`postgres://vod:s3cret-pw@127.0.0.1:${port}/vod`);
      const error = yield* Effect.flip(build(databaseLayer({ url, dataDir: "/nonexistent" })));
      assert.strictEqual(error._tag, "DatabaseUnavailableError");
      if (error._tag !== "DatabaseUnavailableError") return;
      assert.strictEqual(error.host, "127.0.0.1");
      assert.strictEqual(error.port, port);
      assert.strictEqual(error.database, "vod");
      assert.include(error.message, `127.0.0.1:${port}`);
      assert.match(error.message, /ECONNREFUSED/);
      assert.notInclude(error.message, "s3cret-pw");
    }));

  it.live("fails with the server's reason when the password is wrong", () =>
    Effect.gen(function* () {
      const admin = new URL(inject("postgresAdminUrl"));
      admin.password = "wrong-password";
      const error = yield* Effect.flip(build(databaseLayer({ url: Redacted.make(admin.toString()), dataDir: "/nonexistent" })));
      assert.strictEqual(error._tag, "DatabaseUnavailableError");
      assert.match(error.message, /password authentication failed/);
      assert.notInclude(error.message, "wrong-password");
    }));

  it.live("on DATABASE_URL: migrates at start and decodes bigint as number", () =>
    Effect.acquireUseRelease(
      Effect.promise(() => createTestDatabase()),
      (database) =>
        Effect.gen(function* () {
          const sql = yield* SqlClient;
          const tables = yield* sql<{ n: number }>`SELECT count(*) AS n FROM pg_tables WHERE tablename = 'vods'`;
          assert.deepStrictEqual(tables, [{ n: 1 }]);
          const [row] = yield* sql<{ id: number; bytes: number }>`
            INSERT INTO vods (channel, twitch_vod_id, download_bytes) VALUES ('alpha', 'v1', ${5_000_000_000})
            RETURNING id, download_bytes AS bytes`;
          assert.strictEqual(typeof row?.id, "number");
          assert.strictEqual(row?.bytes, 5_000_000_000);
          assert.include((yield* listChatPartitions).map((p) => p.name), chatPartitionName(new Date()));
        }).pipe(Effect.provide(databaseLayer({ url: Redacted.make(database.url), dataDir: "/nonexistent" }))),
      (database) => Effect.promise(() => database.drop()),
    ));

  it.live("without DATABASE_URL: runs an embedded cluster under DATA_DIR/pg, migrated", () =>
    Effect.gen(function* () {
      const dataDir = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(join(tmpdir(), "vod-tender-database-"))),
        (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true })),
      );
      const { migrated, sharedBuffers, maxWalSize } = yield* Effect.gen(function* () {
        const sql = yield* SqlClient;
        const rows = yield* sql<{ migration_id: number }>`SELECT migration_id FROM vod_tender_migrations`;
        const [buffers] = yield* sql<{ shared_buffers: string }>`SHOW shared_buffers`;
        const [wal] = yield* sql<{ max_wal_size: string }>`SHOW max_wal_size`;
        return { migrated: rows.map((row) => row.migration_id), sharedBuffers: buffers?.shared_buffers, maxWalSize: wal?.max_wal_size };
      }).pipe(Effect.provide(databaseLayer({ url: undefined, dataDir })));
      assert.include(migrated, 1);
      // The cluster runs with the product's settings, not PostgreSQL's bare defaults.
      assert.strictEqual(sharedBuffers, embeddedPostgresSettings()["shared_buffers"]);
      assert.strictEqual(maxWalSize, embeddedPostgresSettings()["max_wal_size"]);
    }).pipe(Effect.scoped));
});

describe("embeddedPostgresSettings", () => {
  it("gives the cluster a sixteenth of the memory for shared_buffers, between 128 MB and 512 MB, and 4 GB of WAL between checkpoints", () => {
    const gib = 2 ** 30;
    assert.deepStrictEqual(embeddedPostgresSettings(1 * gib), { shared_buffers: "128MB", max_wal_size: "4GB" });
    assert.deepStrictEqual(embeddedPostgresSettings(4 * gib), { shared_buffers: "256MB", max_wal_size: "4GB" });
    assert.deepStrictEqual(embeddedPostgresSettings(24 * gib), { shared_buffers: "512MB", max_wal_size: "4GB" });
  });
});

describe("databaseTarget", () => {
  it("reads host, port and database without credentials", () => {
    assert.deepStrictEqual(databaseTarget(Redacted.make("postgres://u:p@db.internal:6543/archive?sslmode=require")), {
      host: "db.internal",
      port: 6543,
      database: "archive",
    });
    assert.deepStrictEqual(databaseTarget(Redacted.make("postgresql://vod@localhost/vod")), {
      host: "localhost",
      port: 5432,
      database: "vod",
    });
  });
});
