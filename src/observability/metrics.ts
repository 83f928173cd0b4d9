import * as client from 'prom-client';

/**
 * Prometheus metrics of one server instance. Each server owns its registry so
 * several servers can run in one process (tests, demo) without clashing.
 */
export class Metrics {
  readonly registry = new client.Registry();

  constructor(collectDefault = true) {
    if (collectDefault) client.collectDefaultMetrics({ register: this.registry });
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): client.Counter<L> {
    return new client.Counter<L>({ name, help, labelNames, registers: [this.registry] });
  }

  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): client.Gauge<L> {
    return new client.Gauge<L>({ name, help, labelNames, registers: [this.registry] });
  }

  histogram<L extends string>(name: string, help: string, buckets: number[], labelNames: readonly L[] = []): client.Histogram<L> {
    return new client.Histogram<L>({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
