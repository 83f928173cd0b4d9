/**
 * Connects the REST API's MeshAdmin to the xDS component, the registry and
 * the store (the weights configuration is persisted in the kv table).
 */
import type { ConnectionsPage, ConnectionsQuery, EndpointsQuery, EndpointsTable, MeshAdmin } from '../api/mesh-routes';
import { explainTable, parseWeightsConfig, resolveRequester, type WeightsConfig, type WeightsConfigResult } from '../model';
import type { Registry } from '../registry';
import type { Store } from '../store';
import { configDump, type XdsComponent } from '../xds';

export const WEIGHTS_KV_KEY = 'weights_config';
/**
 * Subscribed names listed per type in /v1/xds/connections (a proxy may name
 * thousands; the config dump of that node lists them all): keeps a page small.
 */
export const SUBSCRIBED_SHOWN = 100;

export class XdsMeshAdmin implements MeshAdmin {
  constructor(
    private readonly xds: XdsComponent,
    private readonly registry: Registry,
    private readonly store: Store,
  ) {}

  connections(q: ConnectionsQuery): ConnectionsPage {
    const page = this.xds.server.connectionsPage(q.cursor ?? 0, q.limit);
    const connections = page.streams.map((s) => {
      const status = s.status();
      return {
        stream: s.id,
        node: s.proxy?.id ?? null,
        userAgent: s.proxy?.userAgentName ?? null,
        kind: s.proxy?.kind ?? null,
        locality: s.proxy?.locality ?? null,
        protocol: s.protocol,
        service: s.service,
        peer: s.peer,
        view: s.view,
        openedAt: new Date(s.openedAt).toISOString(),
        types: Object.fromEntries(
          Object.entries(status).map(([k, st]) => [
            k,
            {
              subscribed: st.subscribed === '*' ? '*' : st.subscribed.slice(0, SUBSCRIBED_SHOWN),
              subscribedCount: st.subscribed === '*' ? null : st.subscribed.length,
              sentVersion: st.sentVersion,
              ackedVersion: st.ackedVersion,
              state: st.state,
              lastError: st.lastError,
            },
          ]),
        ),
      };
    });
    return { connections, total: page.total, limit: q.limit, nextCursor: page.next === null ? null : String(page.next) };
  }

  configDump(nodeId: string): unknown | null {
    const streams = this.xds.server.streamsOf(nodeId);
    return streams.length ? configDump(streams) : null;
  }

  endpointsTable(service: string, q: EndpointsQuery): EndpointsTable | { error: 'unknown_service' | 'unknown_node' } {
    let input;
    if (q.node !== undefined) {
      const n = this.registry.getNode(q.node);
      if (!n) return { error: 'unknown_node' };
      input = { region: n.region, zone: n.zone, subZone: n.subZone, location: n.location };
    } else {
      const location = q.lat !== undefined && q.lon !== undefined ? { lat: q.lat, lon: q.lon } : null;
      input = { region: q.region ?? '', zone: q.zone ?? '', location };
    }
    const assignments = this.xds.source.explain(service, q.kind, input);
    if (!assignments) return { error: 'unknown_service' };
    const requester = resolveRequester(input, this.registry.nodes().values());
    return {
      service,
      requester: { region: requester.region, zone: requester.zone, location: requester.location },
      endpoints: explainTable(assignments),
    };
  }

  weights(): WeightsConfig {
    return this.xds.source.weightsConfig;
  }

  async setWeights(input: unknown): Promise<WeightsConfigResult> {
    const result = parseWeightsConfig(input, this.xds.source.weightsConfig);
    if (!result.ok) return result;
    await this.store.putSetting(WEIGHTS_KV_KEY, result.config);
    this.xds.source.setWeights(result.config);
    return result;
  }
}
