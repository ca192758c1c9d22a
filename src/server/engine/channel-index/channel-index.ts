/**
 * Channel index: which nodes hold subscribers of which channel, cluster-wide — per channel the set of nodes, per node
 * the set of channels. A node records a channel with its first local subscriber and removes it with its last one.
 *
 * Guarantee: a channel's occupancy transitions are decided atomically where the channel's keys live, so exactly one
 * `addNode` reports `occupied` (no node held the channel before) and exactly one removal — by `removeNode` or
 * `removeNodeEverywhere`, however many nodes race — reports `vacated`, each with the channel's transition number
 * `seq` (grows by one per transition: occupied odd, vacated even; it may start over once the channel has stayed
 * empty for a while). Both calls are idempotent: recording a node twice, or removing it twice, reports nothing.
 *
 * Per-node fields leave room for a subscriber count beside each node (a cluster-wide count is then a sum over a
 * channel's nodes), and the per-channel keys for a paged listing; neither changes these transitions.
 */
export interface ChannelIndex {
  /** Records that `node` holds subscribers of `channel`; `occupied` when it is the channel's first node. */
  addNode(channel: string, node: string): Promise<{ occupied: ChannelTransition | null }>;
  /** Records that `node` no longer holds `channel`; `vacated` when it was the last node. Null when it did not hold it. */
  removeNode(channel: string, node: string): Promise<{ vacated: ChannelTransition | null } | null>;
  /**
   * Removes `node` from every channel it holds (a dead node, a drained one) and returns the channels it left empty,
   * each once across every concurrent caller.
   */
  removeNodeEverywhere(node: string): Promise<Array<{ channel: string } & ChannelTransition>>;
  /** Nodes that hold subscribers of `channel`, sorted. */
  nodesOf(channel: string): Promise<string[]>;
  /** Channels `node` holds, sorted. */
  channelsOf(node: string): Promise<string[]>;
  close(): Promise<void>;
}

/** A channel's cluster-wide transition (occupied or vacated) and its number in the channel's sequence. */
export interface ChannelTransition {
  seq: number;
}
