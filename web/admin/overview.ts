import uPlot from 'uplot';
import type { ClusterTotals, NodeView } from '../../src/server/cluster/cluster-view.js';
import { $, el, formatAge, formatBytes } from './http.js';

/** What the console's stream sends every second (the server's shapes, imported as types only). */
export interface NodesSnapshot {
  at: number;
  nodes: NodeView[];
  cluster: ClusterTotals;
}

/** Five minutes at one sample a second. */
const WINDOW = 300;

const CHARTS: Array<{ title: string; value: (snapshot: NodesSnapshot) => number }> = [
  { title: 'sessions', value: (snapshot) => snapshot.cluster.sessions },
  { title: 'deliveries/s', value: (snapshot) => snapshot.cluster.deliveriesPerSecond },
  { title: 'publications/s', value: (snapshot) => snapshot.cluster.publicationsPerSecond },
  { title: 'errors/s', value: (snapshot) => snapshot.cluster.errorsPerSecond },
  { title: 'event-loop lag, max ms', value: (snapshot) => Math.max(0, ...snapshot.nodes.map((node) => node.stats?.eventLoopLagMs.max ?? 0)) },
];

/** The nodes table, the cluster totals and the live charts, fed one snapshot a second by the console's stream. */
export class Overview {
  private readonly times: number[] = [];
  private readonly series: number[][] = CHARTS.map(() => []);
  private readonly plots: uPlot[] = [];

  constructor(private readonly root: HTMLElement) {
    const holder = $('[data-testid="charts"]', root);
    for (const chart of CHARTS) {
      const box = el('div', { class: 'chart', 'data-chart': chart.title }, el('h3', {}, chart.title));
      holder.append(box);
      this.plots.push(new uPlot({
        width: 400, height: 160, legend: { show: false }, cursor: { show: true },
        scales: { x: { time: true } },
        series: [{}, { stroke: '#2660d9', width: 2, fill: 'rgba(38, 96, 217, 0.08)' }],
        axes: [{ stroke: '#687382' }, { stroke: '#687382', size: 50 }],
      }, [[], []], box));
    }
    // Charts take the width of their box, on a phone as on a desk.
    new ResizeObserver(() => this.resize()).observe(holder);
  }

  private resize(): void {
    for (const plot of this.plots) {
      const width = (plot.root.parentElement?.clientWidth ?? 400) - 16;
      if (width > 0 && Math.abs(width - plot.width) > 2) plot.setSize({ width, height: 160 });
    }
  }

  update(snapshot: NodesSnapshot): void {
    this.renderTotals(snapshot);
    this.renderNodes(snapshot);
    this.times.push(snapshot.at / 1000);
    CHARTS.forEach((chart, index) => this.series[index]!.push(chart.value(snapshot)));
    if (this.times.length > WINDOW) {
      this.times.shift();
      for (const values of this.series) values.shift();
    }
    // One sample has no time span to draw.
    if (this.root.hidden || this.times.length < 2) return;
    this.plots.forEach((plot, index) => plot.setData([this.times, this.series[index]!]));
  }

  /** Charts drawn while hidden have no size: drawn again when shown. */
  shown(): void {
    this.resize();
    if (this.times.length < 2) return;
    this.plots.forEach((plot, index) => plot.setData([this.times, this.series[index]!]));
  }

  private renderTotals({ cluster }: NodesSnapshot): void {
    const box = $('[data-testid="totals"]', this.root);
    const entries: Array<[string, number | string]> = [
      ['nodes', cluster.nodes], ['sessions', cluster.sessions], ['subscriptions', cluster.subscriptions],
      ['deliveries/s', cluster.deliveriesPerSecond], ['publications/s', cluster.publicationsPerSecond], ['errors/s', cluster.errorsPerSecond],
    ];
    box.replaceChildren(...entries.map(([label, value]) => el('div', { 'data-total': label }, el('b', {}, String(value)), el('span', { class: 'muted' }, label))));
  }

  private renderNodes({ nodes }: NodesSnapshot): void {
    const body = $('[data-testid="nodes"] tbody', this.root);
    body.replaceChildren(...nodes.map((node) => {
      const stats = node.stats;
      const number = (value: number | undefined | string) => el('td', { class: 'num' }, value === undefined ? '—' : String(value));
      return el('tr', { 'data-testid': 'node-row', 'data-node': node.node, 'data-state': node.state },
        el('td', {}, node.node, node.self ? el('span', { class: 'muted' }, ' (this node)') : ''),
        el('td', {}, el('span', { class: 'state', 'data-state': node.state }, node.state)),
        number(node.leaseAgeMs === null ? undefined : formatAge(node.leaseAgeMs)),
        el('td', {}, stats?.version ?? '—'),
        number(stats?.sessions), number(stats?.subscriptions), number(stats?.deliveriesPerSecond), number(stats?.publicationsPerSecond),
        number(stats?.errorsPerSecond), number(stats ? `${stats.eventLoopLagMs.max} ms` : undefined), number(stats ? formatBytes(stats.rssBytes) : undefined),
      );
    }));
  }
}
