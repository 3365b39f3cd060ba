// Stands up what the browser tests play against: two Connect 4 Arena instances sharing
// one Redis key prefix and one fresh PostgreSQL database, and nginx round-robin in
// front of them. Builds nothing: the server binary must exist (`cargo build`).
//
// Environment:
//   C4_BIN              server binary (default: <repo>/target/debug/connect4-arena)
//   C4_E2E_PG_ADMIN     admin URL of PostgreSQL (default postgres://postgres@127.0.0.1:5432)
//   C4_E2E_REDIS_URL    Redis (default redis://127.0.0.1:6379)
//   C4_E2E_INSTANCES    number of instances (default 2)
//   C4_E2E_KEEP=1       keep the temp dir (server and nginx logs) after the run
//
// Everything started here is torn down by `stop()`, also when a test fails, and on
// process exit as a last resort.

import { execFileSync, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startNginx } from "./nginx.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, "../..");
export const SERVER_BIN = process.env.C4_BIN || path.join(REPO, "target/debug/connect4-arena");
const PG_ADMIN = (process.env.C4_E2E_PG_ADMIN || "postgres://postgres@127.0.0.1:5432").replace(/\/+$/, "");
const REDIS_URL = process.env.C4_E2E_REDIS_URL || "redis://127.0.0.1:6379";
const INSTANCES = Number(process.env.C4_E2E_INSTANCES || 2);
const READY_TIMEOUT_MS = 60_000;

const live = new Set();
process.once("exit", () => {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
});

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function psql(sql) {
  execFileSync("psql", [`${PG_ADMIN}/postgres`, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], { stdio: ["ignore", "ignore", "pipe"] });
}

function dropRedisKeys(prefix) {
  try {
    const keys = execFileSync("redis-cli", ["-u", REDIS_URL, "--scan", "--pattern", `${prefix}*`], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean);
    for (let i = 0; i < keys.length; i += 500) {
      execFileSync("redis-cli", ["-u", REDIS_URL, "DEL", ...keys.slice(i, i + 500)], { stdio: "ignore" });
    }
  } catch {
    // Redis keys carry TTLs; leftovers expire on their own.
  }
}

function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

async function waitReady(instance) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (instance.exitCode !== null) {
      throw new Error(`${instance.id} exited with ${instance.exitCode} during start-up:\n${tail(instance.logPath)}`);
    }
    try {
      const response = await fetch(`${instance.url}/health/ready`);
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`${instance.id} not ready within ${READY_TIMEOUT_MS} ms:\n${tail(instance.logPath)}`);
}

class Instance {
  constructor({ id, port, env, logPath }) {
    this.id = id;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.env = env;
    this.logPath = logPath;
    this.child = null;
    this.exitCode = null;
  }

  get running() {
    return this.child !== null && this.exitCode === null;
  }

  async start() {
    if (this.running) return;
    const log = fs.openSync(this.logPath, "a");
    this.exitCode = null;
    this.child = spawn(SERVER_BIN, [], { env: { ...process.env, ...this.env }, stdio: ["ignore", log, log], cwd: REPO });
    fs.closeSync(log);
    live.add(this.child);
    this.child.once("exit", (code, signal) => {
      this.exitCode = code ?? signal;
      live.delete(this.child);
    });
    await waitReady(this);
  }

  /** SIGTERM (graceful drain: sockets are closed with 1012), SIGKILL after `graceMs`. */
  stop(graceMs = 10_000) {
    const child = this.child;
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), graceMs).unref();
    });
  }
}

/**
 * Starts the cluster. Returns `{ url, instances, stop() }`: `url` goes through nginx,
 * `instances[i].url` reaches one instance directly.
 */
export async function startCluster({ env = {} } = {}) {
  if (!fs.existsSync(SERVER_BIN)) {
    throw new Error(`server binary not found at ${SERVER_BIN}: run \`cargo build\` first (or set C4_BIN)`);
  }
  const runId = crypto.randomBytes(4).toString("hex");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `c4e2e-${runId}-`));
  const database = `c4e2e_${runId}`;
  const prefix = `c4e2e${runId}`;
  const cluster = { url: null, instances: [], nginx: null, tmp, database, prefix };
  let stopped = false;

  /** Deletes the cluster's matchmaking queue from Redis, as a Redis restart would. */
  cluster.dropQueue = () => dropRedisKeys(`${prefix}:{mm}:`);
  cluster.stop = async () => {
    if (stopped) return;
    stopped = true;
    if (cluster.nginx) await cluster.nginx.stop();
    await Promise.all([...new Set(cluster.instances)].map((instance) => instance.stop(5000)));
    try {
      psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    } catch (err) {
      console.error(`could not drop database ${database}: ${err.stderr || err.message}`);
    }
    dropRedisKeys(prefix);
    if (process.env.C4_E2E_KEEP === "1") console.error(`e2e logs kept in ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  };

  try {
    psql(`CREATE DATABASE ${database}`);
    const auditDir = path.join(tmp, "audit");
    fs.mkdirSync(auditDir);
    for (let i = 0; i < INSTANCES; i++) {
      const id = `e2e-${String.fromCharCode(97 + i)}`;
      const port = await freePort();
      const instance = new Instance({
        id,
        port,
        logPath: path.join(tmp, `${id}.log`),
        env: {
          DATABASE_URL: `${PG_ADMIN}/${database}`,
          REDIS_URL,
          REDIS_PREFIX: prefix,
          PORT: String(port),
          BIND: "127.0.0.1",
          INSTANCE_ID: id,
          AUDIT_DIR: auditDir,
          STATIC_DIR: path.join(REPO, "static"),
          RUST_LOG: process.env.RUST_LOG || "info",
          // nginx in front is the trusted proxy; every browser of the tests is 127.0.0.1,
          // one address standing for many players, so its sign-up budget is lifted.
          TRUSTED_PROXIES: "127.0.0.1",
          AUTH_ATTEMPTS_PER_ADDRESS: "1000000",
          ...env,
        },
      });
      cluster.instances.push(instance);
      // One at a time: the first instance runs the migrations.
      await instance.start();
    }
    const nginxPort = await freePort();
    cluster.nginx = await startNginx({
      listenPort: nginxPort,
      upstreams: cluster.instances.map((instance) => `127.0.0.1:${instance.port}`),
      dir: path.join(tmp, "nginx"),
    });
    cluster.url = cluster.nginx.url;
    // With one instance (debugging), "instance b" is instance a.
    while (cluster.instances.length < 2) cluster.instances.push(cluster.instances[0]);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
