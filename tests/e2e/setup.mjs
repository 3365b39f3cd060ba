// The setup every spec file shares: one cluster (harness.mjs) and one browser, started
// before the file's tests and torn down after them, failures included; the players a
// test opens are closed when it ends.

import { after, afterEach, before } from "node:test";
import { startCluster } from "./harness.mjs";
import { launchBrowser, Player, uniqueName } from "./helpers.mjs";

/**
 * Registers the hooks of a spec file and returns its arena: `cluster` and `browser`
 * (set once the `before` hook has run), `open()` and `registeredPair()`.
 * `clusterOptions` go to `startCluster` (e.g. `{ env: { MOVE_TIME_LIMIT_SECONDS: "8" } }`).
 */
export function useArena(clusterOptions = {}) {
  const players = [];
  const arena = {
    cluster: undefined,
    browser: undefined,

    /** A player's page, through nginx unless `url` names an instance. */
    async open(options = {}, url = arena.cluster.url) {
      const player = await Player.open(arena.browser, url, options);
      players.push(player);
      return player;
    },

    /**
     * Two registered players, `host` and `guest`, through nginx; with `twoInstances`
     * the host is on the first instance and the guest on the second, so every move
     * crosses instances.
     */
    async registeredPair({ twoInstances = false, names = ["host", "guest"] } = {}) {
      const [hostUrl, guestUrl] = twoInstances
        ? [arena.cluster.instances[0].url, arena.cluster.instances[1].url]
        : [arena.cluster.url, arena.cluster.url];
      const host = await arena.open({}, hostUrl);
      const guest = await arena.open({}, guestUrl);
      await host.register(uniqueName(names[0]));
      await guest.register(uniqueName(names[1]));
      return { host, guest };
    },
  };

  before(async () => {
    arena.cluster = await startCluster(clusterOptions);
    arena.browser = await launchBrowser();
  });

  afterEach(async () => {
    await Promise.all(players.splice(0).map((p) => p.close()));
  });

  after(async () => {
    await arena.browser?.close();
    await arena.cluster?.stop();
  });

  return arena;
}
