/** A clock for memory stores: real time plus whatever a test let elapse, so it never runs behind `Date.now()`. */
export class TestClock {
  private offset = 0;
  readonly now = (): number => Date.now() + this.offset;

  async elapse(ms: number): Promise<void> {
    this.offset += ms;
  }
}
