import { describe, expect, it } from "vitest";
import { splitSqlStatements } from "../../../src/services/migrations.ts";

describe("splitSqlStatements", () => {
  it("splits at top-level semicolons and trims", () => {
    expect(splitSqlStatements("CREATE TABLE a (id int);\n  CREATE INDEX a_idx ON a (id) ;\nSELECT 1")).toEqual([
      "CREATE TABLE a (id int)",
      "CREATE INDEX a_idx ON a (id)",
      "SELECT 1",
    ]);
  });

  it("drops pieces that are only comments or blank", () => {
    expect(splitSqlStatements("-- heading; with a semicolon\n\n/* block; */ ;\nSELECT 1;\n-- trailing\n")).toEqual([
      "SELECT 1",
    ]);
  });

  it("keeps semicolons inside strings, quoted identifiers and comments", () => {
    const script = [
      "INSERT INTO t VALUES ('a;b', 'it''s; fine');",
      'CREATE TABLE "odd;name" (id int); -- note; here',
      "SELECT E'back\\'slash; still inside';",
      "SELECT /* outer /* nested; */ still comment; */ 2;",
    ].join("\n");
    expect(splitSqlStatements(script)).toEqual([
      "INSERT INTO t VALUES ('a;b', 'it''s; fine')",
      'CREATE TABLE "odd;name" (id int)',
      "-- note; here\nSELECT E'back\\'slash; still inside'",
      "SELECT /* outer /* nested; */ still comment; */ 2",
    ]);
  });

  it("keeps dollar-quoted bodies whole", () => {
    const body = "$fn$ BEGIN PERFORM 1; RETURN NEW; END $fn$";
    const script = `CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS ${body};\nDO $$ BEGIN RAISE NOTICE 'x;y'; END $$;`;
    expect(splitSqlStatements(script)).toEqual([
      `CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS ${body}`,
      "DO $$ BEGIN RAISE NOTICE 'x;y'; END $$",
    ]);
  });

  it("does not take a positional parameter for a dollar quote", () => {
    expect(splitSqlStatements("SELECT $1; SELECT 2")).toEqual(["SELECT $1", "SELECT 2"]);
  });
});
