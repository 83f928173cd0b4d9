/**
 * Zone failover observed by a real proxyless client (issue 4): when every
 * zone-A node stops heartbeating, a @grpc/grpc-js-xds client in zone A moves
 * to the rest of its region (not to the other region) within 3 heartbeat
 * intervals + 1 s, with no failed RPC once the move is done, and comes back
 * when the heartbeats resume. Real CLI server, REST-registered echo backends.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadgenHandle } from '../../src/demo';
import { waitFor, sleep } from '../helpers/wait';
import { startFleet, startClient, clientStarted, healthFlaps, table, countOf, total, recordWindows, type Fleet, type SiteSpec } from './fleet';

/** Heartbeat interval: 1 s, so a process stalled ~2 s on a busy machine does not look like a dead node. */
const HB_MS = 1000;
const MOVE_BOUND_MS = 3 * HB_MS + 1000;
const SH = { lat: 31.23, lon: 121.47 };
const SITES: SiteSpec[] = [
  { id: 'za-1', region: 'cn-east', zone: 'shanghai-a', ...SH, maxRps: 500, cpu: 0.2 },
  { id: 'za-2', region: 'cn-east', zone: 'shanghai-a', ...SH, maxRps: 300, cpu: 0.2 },
  { id: 'za-3', region: 'cn-east', zone: 'shanghai-a', ...SH, maxRps: 200, cpu: 0.2 },
  { id: 'hz-1', region: 'cn-east', zone: 'hangzhou-b', lat: 30.27, lon: 120.15, maxRps: 400, cpu: 0.2 },
  { id: 'hz-2', region: 'cn-east', zone: 'hangzhou-b', lat: 30.3, lon: 120.2, maxRps: 400, cpu: 0.4 },
  { id: 'bj-1', region: 'cn-north', zone: 'beijing-a', lat: 39.9, lon: 116.4, maxRps: 400, cpu: 0.2 },
];
const ZONE_A = ['za-1', 'za-2', 'za-3'];

let fleet: Fleet;
let sh: LoadgenHandle;
let startedAt = 0;

before(async () => {
  fleet = await startFleet(SITES, HB_MS);
  startedAt = Date.now();
  sh = await startClient(fleet.server, 'e2e-sh-failover', 'cn-east', 'shanghai-a', 250, 50_000);
  await clientStarted(sh);
});

after(async () => {
  await sh?.kill();
  await fleet?.close();
});

test('zone A healthy: the zone A client sends everything to zone A', async (t) => {
  const m = sh.mark();
  await waitFor(() => m.ok + m.failed >= 1000, { timeoutMs: 15_000, intervalMs: 50, message: '1000 RPCs' });
  const flaps = await healthFlaps(fleet.server, startedAt);
  if (flaps.length) t.diagnostic(`health flaps (late heartbeats): ${JSON.stringify(flaps)}`);
  assert.equal(m.failed, 0, `${JSON.stringify(m.errors)}; health flaps (late heartbeats): ${JSON.stringify(flaps)}`);
  assert.equal(countOf(m.counts, 'za-'), total(m.counts), JSON.stringify(m.counts));
});

test('zone A stops heartbeating: traffic moves to the rest of the region within 3 intervals + 1 s, no failed RPC after the move, and comes back', async (t) => {
  const windows = recordWindows(sh);
  const stoppedAt = Date.now();
  for (const id of ZONE_A) fleet.backends.get(id)!.stopHeartbeats();
  // Watch well past the bound, so a late zone-A RPC would be seen.
  await sleep(MOVE_BOUND_MS + 2000);
  const after = windows.list.filter(({ at }) => at > stoppedAt);
  const lastZoneA = after.filter(({ w }) => countOf(w.counts, 'za-') > 0).pop();
  const movedAt = lastZoneA ? lastZoneA.at : stoppedAt;
  t.diagnostic(`last zone-A RPC in the window ending ${movedAt - stoppedAt} ms after the heartbeats stopped (bound ${MOVE_BOUND_MS} ms)`);
  assert.ok(movedAt - stoppedAt <= MOVE_BOUND_MS, `zone A still served ${movedAt - stoppedAt} ms after its heartbeats stopped`);

  const moved = after.filter(({ at }) => at > movedAt);
  const counts: Record<string, number> = {};
  let failed = 0;
  for (const { w } of moved) {
    failed += w.failed;
    for (const [k, v] of Object.entries(w.counts)) counts[k] = (counts[k] ?? 0) + v;
  }
  const failedDuring = after.filter(({ at }) => at <= movedAt).reduce((a, { w }) => a + w.failed, 0);
  t.diagnostic(`after the move: ${JSON.stringify(counts)}, failed ${failed}; failed while moving: ${failedDuring}`);
  assert.equal(failed, 0, 'no failed RPC once the move is done');
  assert.ok(total(counts) >= 200, `enough RPCs after the move: ${total(counts)}`);
  assert.equal(countOf(counts, 'hz-'), total(counts), `the rest of cn-east (hangzhou-b) takes it all: ${JSON.stringify(counts)}`);
  // The table says why: zone A is not HEALTHY, hangzhou-b is the next priority.
  const rows = await table(fleet.server, 'cn-east', 'shanghai-a');
  for (const r of rows.filter((x) => x.nodeId.startsWith('za-'))) assert.notEqual(r.health, 'HEALTHY', `${r.nodeId} ${r.health}`);
  assert.deepEqual(
    rows.filter((r) => r.priority === 1).map((r) => r.nodeId),
    ['hz-1', 'hz-2'],
  );

  // Heartbeats resume: traffic comes back to zone A.
  const resumedAt = Date.now();
  for (const id of ZONE_A) fleet.backends.get(id)!.resumeHeartbeats();
  let backAt = 0;
  await waitFor(
    () => {
      const hit = windows.list.find(({ at, w }) => at > resumedAt && w.ok >= 10 && countOf(w.counts, 'za-') === w.ok);
      if (hit) backAt = hit.at;
      return backAt > 0;
    },
    { timeoutMs: 10_000, intervalMs: 20, message: 'a window served by zone A only' },
  );
  t.diagnostic(`back in zone A ${backAt - resumedAt} ms after the heartbeats resumed`);
  const m = sh.mark();
  await waitFor(() => m.ok + m.failed >= 500, { timeoutMs: 10_000, intervalMs: 50, message: '500 RPCs after the return' });
  windows.stop();
  assert.equal(m.failed, 0, JSON.stringify(m.errors));
  assert.equal(countOf(m.counts, 'za-'), total(m.counts), JSON.stringify(m.counts));
  const summary = await sh.stop();
  t.diagnostic(`client total ${summary.total}, failed ${summary.failed}`);
  assert.equal(summary.failed, 0, JSON.stringify(summary.errorSamples));
});
