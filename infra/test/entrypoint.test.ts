// The container entry point (infra/docker/entrypoint.sh) run under /bin/sh with a stub
// in place of the server binary that prints what it was given.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ENTRYPOINT = path.join(__dirname, '..', 'docker', 'entrypoint.sh');

let stubDir: string;

before(() => {
  stubDir = fs.mkdtempSync(path.join(os.tmpdir(), 'c4-entrypoint-'));
  fs.writeFileSync(
    path.join(stubDir, 'connect4-arena'),
    [
      '#!/bin/sh',
      'printf "args=%s\\n" "$*"',
      'printf "DATABASE_URL=%s\\n" "${DATABASE_URL:-}"',
      'printf "INSTANCE_ID=%s\\n" "${INSTANCE_ID:-}"',
      'printf "DB_PASSWORD=%s\\n" "${DB_PASSWORD-<unset>}"',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
});

after(() => fs.rmSync(stubDir, { recursive: true, force: true }));

async function entrypoint(env: Record<string, string>, args: string[] = []): Promise<Record<string, string>> {
  const { stdout } = await run('/bin/sh', [ENTRYPOINT, ...args], {
    env: { PATH: `${stubDir}:/usr/bin:/bin`, ...env },
    timeout: 10_000,
  });
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('container entry point', () => {
  it('passes arguments through to the server', async () => {
    const out = await entrypoint({}, ['verify', 'a.jsonl', 'b.jsonl']);
    assert.equal(out.args, 'verify a.jsonl b.jsonl');
    assert.equal(out.DATABASE_URL, '');
  });

  it('assembles DATABASE_URL from DB_* variables, percent-encoding the credentials', async () => {
    const out = await entrypoint({
      DB_HOST: 'db.internal',
      DB_PORT: '5433',
      DB_NAME: 'arena',
      DB_USER: 'connect4',
      DB_PASSWORD: 'p@ss:w/rd%?#x y~-._Z9',
      DB_OPTIONS: 'sslmode=require',
    });
    assert.equal(
      out.DATABASE_URL,
      'postgres://connect4:p%40ss%3Aw%2Frd%25%3F%23x%20y~-._Z9@db.internal:5433/arena?sslmode=require',
    );
    const url = new URL(out.DATABASE_URL);
    assert.equal(decodeURIComponent(url.password), 'p@ss:w/rd%?#x y~-._Z9');
    // The password lives on in DATABASE_URL only.
    assert.equal(out.DB_PASSWORD, '<unset>');
  });

  it('defaults the port and database name', async () => {
    const out = await entrypoint({ DB_HOST: 'db', DB_USER: 'u', DB_PASSWORD: 'secret' });
    assert.equal(out.DATABASE_URL, 'postgres://u:secret@db:5432/connect4');
  });

  it('keeps an explicit DATABASE_URL', async () => {
    const out = await entrypoint({ DATABASE_URL: 'postgres://a:b@c/d', DB_HOST: 'ignored', DB_USER: 'x', DB_PASSWORD: 'y' });
    assert.equal(out.DATABASE_URL, 'postgres://a:b@c/d');
  });

  it('refuses DB_HOST without credentials', async () => {
    await assert.rejects(entrypoint({ DB_HOST: 'db', DB_USER: 'u' }), /DB_PASSWORD is required/);
  });

  describe('on ECS', () => {
    let server: http.Server;
    let metadataUri: string;

    before(async () => {
      server = http.createServer((req, res) => {
        if (req.url === '/v4/container/task') {
          res.setHeader('content-type', 'application/json');
          res.end(
            JSON.stringify(
              {
                Cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/connect4',
                TaskARN: 'arn:aws:ecs:eu-west-1:123456789012:task/connect4/0123456789abcdef0123456789abcdef',
                Family: 'connect4',
              },
              null,
              2,
            ),
          );
        } else {
          res.statusCode = 404;
          res.end();
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      metadataUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v4/container`;
    });

    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('names the instance after the task id', { skip: !hasCurl() && 'curl is not installed' }, async () => {
      const out = await entrypoint({ ECS_CONTAINER_METADATA_URI_V4: metadataUri });
      assert.equal(out.INSTANCE_ID, '0123456789abcdef0123456789abcdef');
    });

    it('keeps an explicit INSTANCE_ID', async () => {
      const out = await entrypoint({ ECS_CONTAINER_METADATA_URI_V4: metadataUri, INSTANCE_ID: 'blue-1' });
      assert.equal(out.INSTANCE_ID, 'blue-1');
    });

    it('leaves INSTANCE_ID to the server when the metadata endpoint is unreachable', async () => {
      const out = await entrypoint({ ECS_CONTAINER_METADATA_URI_V4: 'http://127.0.0.1:1/v4/x' });
      assert.equal(out.INSTANCE_ID, '');
    });
  });
});

function hasCurl(): boolean {
  return ['/usr/bin/curl', '/bin/curl', '/usr/local/bin/curl'].some((p) => fs.existsSync(p));
}
