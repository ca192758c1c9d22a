import { TransitionCounter } from '../transition-counter.js';
import type { ChannelIndex, ChannelTransition } from './channel-index.js';

/** Shared state of memory channel indexes, so several nodes in one process see one index. */
export class MemoryChannelIndexState {
  readonly channels = new Map<string, Set<string>>();
  readonly nodes = new Map<string, Set<string>>();
  /** Numbers each channel's occupied/vacated transitions. */
  readonly transitions = new TransitionCounter();
}

export class MemoryChannelIndex implements ChannelIndex {
  constructor(private readonly state: MemoryChannelIndexState = new MemoryChannelIndexState()) {}

  async addNode(channel: string, node: string): Promise<{ occupied: ChannelTransition | null }> {
    let nodes = this.state.channels.get(channel);
    if (!nodes) this.state.channels.set(channel, (nodes = new Set()));
    let channels = this.state.nodes.get(node);
    if (!channels) this.state.nodes.set(node, (channels = new Set()));
    channels.add(channel);
    if (nodes.has(node)) return { occupied: null };
    nodes.add(node);
    return { occupied: nodes.size === 1 ? this.state.transitions.begin(channel) : null };
  }

  async removeNode(channel: string, node: string): Promise<{ vacated: ChannelTransition | null } | null> {
    const channels = this.state.nodes.get(node);
    channels?.delete(channel);
    if (channels?.size === 0) this.state.nodes.delete(node);
    return this.remove(channel, node);
  }

  private remove(channel: string, node: string): { vacated: ChannelTransition | null } | null {
    const nodes = this.state.channels.get(channel);
    if (!nodes?.delete(node)) return null;
    if (nodes.size > 0) return { vacated: null };
    this.state.channels.delete(channel);
    return { vacated: this.state.transitions.end(channel) };
  }

  async removeNodeEverywhere(node: string): Promise<Array<{ channel: string } & ChannelTransition>> {
    const channels = [...(this.state.nodes.get(node) ?? [])].sort();
    this.state.nodes.delete(node);
    return channels.flatMap((channel) => {
      const vacated = this.remove(channel, node)?.vacated;
      return vacated ? [{ channel, ...vacated }] : [];
    });
  }

  async nodesOf(channel: string): Promise<string[]> {
    return [...(this.state.channels.get(channel) ?? [])].sort();
  }

  async channelsOf(node: string): Promise<string[]> {
    return [...(this.state.nodes.get(node) ?? [])].sort();
  }

  async close(): Promise<void> {}
}
