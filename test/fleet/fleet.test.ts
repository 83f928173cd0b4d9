/**
 * The fleet simulator at small scale, as a correctness test (no timing
 * assertions): 200 proxies (SotW, then delta) against the real CLI server
 * with 100 endpoints over 20 services. Every proxy must reach the complete
 * config (every resource checked with Envoy's protos), and after one
 * endpoint's load jumps past the overload threshold every proxy must get and
 * ACK the new assignment of that cluster, with nothing missing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCliServer, type CliServer } from '../helpers';
import { Fleet } from '../bench/fleet';
import { claSummary } from '../bench/fleet-wire';
import { heartbeat, meshZones, registerAll, registrationBody, serviceOf, type MeshSpec } from '../bench/mesh';

const PROXIES = 200;
const spec: MeshSpec = { services: 20, endpoints: 100, zones: meshZones() };

describe('fleet simulator (small scale)', () => {
  let server: CliServer;

  before(async () => {
    // A long heartbeat interval: the registered endpoints stay healthy for the whole test without heartbeats.
    server = await startCliServer({ args: ['--heartbeat-interval', '60s'] });
    await registerAll(server.baseUrl, spec);
  });

  after(async () => {
    await server?.stop();
  });

  for (const [mode, ep] of [
    ['sotw', 3],
    ['delta', 7],
  ] as const) {
    it(`${mode}: every proxy converges to the complete config, then gets the changed assignment`, async () => {
      const fleet = await Fleet.start({
        target: `127.0.0.1:${server.xdsPort}`,
        mode,
        proxies: PROXIES,
        zones: spec.zones,
        workers: 2,
        channelsPerWorker: 2,
        strict: true,
        idPrefix: `${mode}-proxy`,
      });
      try {
        const sync = await fleet.waitSynced(20_000);
        assert.equal(sync.stats.errors, 0, sync.stats.firstError);
        assert.equal(sync.stats.strictErrors, 0, sync.stats.firstStrictError);
        assert.equal(sync.synced, PROXIES, 'every proxy has a complete config');
        const summary = await fleet.summary(null);
        assert.equal(summary.length, PROXIES);
        for (const s of summary) {
          assert.ok(s.complete, `${s.id} complete`);
          assert.equal(s.clusters, spec.services, `${s.id} clusters`);
          assert.equal(s.endpoints, spec.services, `${s.id} has an assignment for every cluster`);
          assert.ok(s.listeners >= 1 && s.routes >= 1, `${s.id} listeners and routes`);
        }

        // The change: one endpoint overloaded (load >= 0.9), which is pushed at once (no hysteresis).
        const cluster = serviceOf(ep, spec);
        const baseline = new Map((await fleet.summary(cluster)).map((s) => [s.id, s.cla]));
        await fleet.mark(1, cluster);
        assert.equal(await heartbeat(server.baseUrl, ep, { cpu: 0.97, memory: 0.9, network: 0.9 }), 204);
        const changed = await fleet.waitChanged(PROXIES, 3000, 20_000);
        // Both modes: the push names only the changed cluster (SotW EDS is not full-state once the proxy holds the set).
        assert.equal(changed.others, 0, 'a push carries only the changed cluster');

        // Ground truth: what a fresh proxy in each zone gets now (one view per zone).
        const fresh = await Fleet.start({
          target: `127.0.0.1:${server.xdsPort}`,
          mode,
          proxies: spec.zones.length,
          zones: spec.zones,
          workers: 1,
          strict: true,
          idPrefix: `${mode}-fresh`,
        });
        let truth: Map<number, string | null>;
        try {
          assert.equal((await fresh.waitSynced(10_000)).synced, spec.zones.length);
          truth = new Map((await fresh.summary(cluster)).map((s) => [Number(s.id.split('-').pop()), s.cla]));
        } finally {
          await fresh.close();
        }
        const zoneOf = (id: string): number => Number(id.split('-').pop()) % spec.zones.length;
        const affected = [...baseline].filter(([id, cla]) => cla !== truth.get(zoneOf(id))).length;
        assert.ok(affected > 0, 'the overload changed what some proxies receive');
        assert.equal(changed.times.length, affected, `every affected proxy ACKed the new ${cluster} assignment (${changed.waiting} not changed)`);

        const expected = new Set<string>();
        for (let i = 0; i < spec.endpoints; i++) if (serviceOf(i, spec) === cluster) expected.add(String(registrationBody(i, spec).address));
        const after = await fleet.summary(cluster);
        const decoded = new Map<string, ReturnType<typeof claSummary>>();
        for (const s of after) {
          assert.ok(s.complete, `${s.id} still complete`);
          assert.equal(s.endpoints, spec.services, `${s.id} still holds an assignment for every cluster`);
          assert.ok(s.cla, `${s.id} holds ${cluster}`);
          assert.equal(s.cla, truth.get(zoneOf(s.id)), `${s.id} holds the current ${cluster} assignment of its view`);
          let cla = decoded.get(s.cla!);
          if (!cla) decoded.set(s.cla!, (cla = claSummary(Buffer.from(s.cla!, 'base64'))));
          assert.equal(cla.cluster, cluster);
          assert.deepEqual(new Set(cla.endpoints.map((e) => e.address)), expected, `${s.id}: every endpoint of ${cluster}, nothing missing`);
        }
        const st = await fleet.stats();
        assert.equal(st.errors, 0, st.firstError);
        assert.equal(st.strictErrors, 0, st.firstStrictError);
      } finally {
        await fleet.close();
      }
      // Restore for the next mode.
      await heartbeat(server.baseUrl, ep, { cpu: 0.3, memory: 0.4, network: 0.2 });
    });
  }
});
