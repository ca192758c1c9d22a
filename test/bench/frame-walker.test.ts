import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  clientFrame,
  FrameWalker,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  serverFrame,
  type FrameSink,
} from '../../bench/load/frame-walker.js';

interface Seen {
  counted: number[];
  messages: { opcode: number; text: string }[];
  controls: { opcode: number; payload: Buffer }[];
}

function recorder(): { sink: FrameSink; seen: Seen } {
  const seen: Seen = { counted: [], messages: [], controls: [] };
  return {
    seen,
    sink: {
      onCounted: (length) => void seen.counted.push(length),
      onMessage: (payload, opcode) => void seen.messages.push({ opcode, text: payload.toString('latin1') }),
      onControl: (opcode, payload) => void seen.controls.push({ opcode, payload }),
    },
  };
}

/** Feed `bytes` in chunks cut at the given offsets, through one reused buffer (as `onread` does). */
function feed(walker: FrameWalker, bytes: Buffer, cuts: number[]): void {
  const shared = Buffer.alloc(bytes.length);
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    const n = bytes.copy(shared, 0, start, cut);
    walker.push(shared, 0, n);
    shared.fill(0xee); // anything the walker kept a reference to would now be garbage
    start = cut;
  }
}

const text = (s: string | Buffer, fin = true, opcode = OP_TEXT): Buffer =>
  serverFrame(opcode, typeof s === 'string' ? Buffer.from(s) : s, fin);

describe('bench frame walker', () => {
  it('counts whole text frames in one chunk without extracting them', () => {
    const { sink, seen } = recorder();
    const walker = new FrameWalker(sink);
    walker.push(Buffer.concat([text('a'.repeat(64)), text('b'.repeat(100)), text('')]));
    assert.deepEqual(seen.counted, [64, 100, 0]);
    assert.equal(seen.messages.length, 0);
  });

  it('extracts every message when collectAll is set, and short ones below inspectBelow', () => {
    const { sink, seen } = recorder();
    const walker = new FrameWalker(sink, 8);
    walker.push(Buffer.concat([text('2'), text('x'.repeat(40))]));
    assert.deepEqual(seen.messages, [{ opcode: OP_TEXT, text: '2' }]);
    assert.deepEqual(seen.counted, [40]);
    walker.collectAll = true;
    walker.push(text('hello world, sampled'));
    assert.deepEqual(seen.messages.at(-1), { opcode: OP_TEXT, text: 'hello world, sampled' });
  });

  it('walks frames split at every byte boundary, headers included', () => {
    const frames = Buffer.concat([
      text('~t123|1|' + '.'.repeat(56)),
      serverFrame(OP_PING, Buffer.from('pp')),
      text('y'.repeat(300)), // 16-bit length
      text('z'.repeat(70_000)), // 64-bit length
      text('2'),
    ]);
    for (const step of [1, 2, 3, 7, 13, 1000]) {
      for (const collectAll of [false, true]) {
        const { sink, seen } = recorder();
        const walker = new FrameWalker(sink, 4);
        walker.collectAll = collectAll;
        const cuts: number[] = [];
        for (let at = step; at < frames.length; at += step) cuts.push(at);
        feed(walker, frames, cuts);
        assert.equal(seen.controls.length, 1, `step ${step}`);
        assert.equal(seen.controls[0]!.opcode, OP_PING);
        assert.equal(seen.controls[0]!.payload.toString(), 'pp');
        if (collectAll) {
          assert.deepEqual(
            seen.messages.map((m) => m.text.length),
            [64, 300, 70_000, 1],
          );
          assert.equal(seen.messages[0]!.text, '~t123|1|' + '.'.repeat(56));
          assert.equal(seen.messages[2]!.text, 'z'.repeat(70_000));
        } else {
          assert.deepEqual(seen.counted, [64, 300, 70_000], `step ${step}`);
          assert.deepEqual(seen.messages, [{ opcode: OP_TEXT, text: '2' }]);
        }
      }
    }
  });

  it('reads 16-bit and 64-bit extended lengths exactly', () => {
    for (const length of [125, 126, 127, 65_535, 65_536, 200_000]) {
      const { sink, seen } = recorder();
      const walker = new FrameWalker(sink);
      walker.push(Buffer.concat([text(Buffer.alloc(length, 0x61)), text('after-' + length)]));
      assert.deepEqual(seen.counted, [length, 6 + String(length).length], `length ${length}`);
    }
  });

  it('answers pings: control frames are extracted, also between fragments of a message', () => {
    const { sink, seen } = recorder();
    const walker = new FrameWalker(sink);
    walker.collectAll = true;
    const frames = Buffer.concat([
      text('hel', false),
      serverFrame(OP_PING, Buffer.from('beat')),
      serverFrame(OP_CONTINUATION, Buffer.from('lo '), false),
      serverFrame(OP_PING, Buffer.alloc(0)),
      serverFrame(OP_CONTINUATION, Buffer.from('world')),
      serverFrame(OP_BINARY, Buffer.from([1, 2, 3])),
    ]);
    feed(walker, frames, [4, 9, 10, 20]);
    assert.deepEqual(seen.messages, [
      { opcode: OP_TEXT, text: 'hello world' },
      { opcode: OP_BINARY, text: '\x01\x02\x03' },
    ]);
    assert.deepEqual(
      seen.controls.map((c) => [c.opcode, c.payload.toString()]),
      [
        [OP_PING, 'beat'],
        [OP_PING, ''],
      ],
    );
  });

  it('counts a fragmented message once, with its total length', () => {
    const { sink, seen } = recorder();
    const walker = new FrameWalker(sink);
    walker.push(Buffer.concat([text('a'.repeat(50), false), serverFrame(OP_CONTINUATION, Buffer.from('b'.repeat(50)))]));
    assert.deepEqual(seen.counted, [100]);
  });

  it('reports close frames with their status code', () => {
    const { sink, seen } = recorder();
    const walker = new FrameWalker(sink);
    walker.push(serverFrame(OP_CLOSE, Buffer.from([0x03, 0xe8])));
    assert.equal(seen.controls[0]!.opcode, OP_CLOSE);
    assert.equal(seen.controls[0]!.payload.readUInt16BE(0), 1000);
  });

  it('skips a masked frame (mask key in the header) like any other', () => {
    const { sink, seen } = recorder();
    const walker = new FrameWalker(sink);
    walker.push(Buffer.concat([clientFrame(OP_TEXT, Buffer.alloc(300, 0x41), Uint8Array.of(1, 2, 3, 4)), text('next')]));
    assert.deepEqual(seen.counted, [300, 4]);
  });
});

describe('bench client frames', () => {
  it('masks the payload with the key, sets FIN and the mask bit', () => {
    const key = Uint8Array.of(0x11, 0x22, 0x33, 0x44);
    const frame = clientFrame(OP_PONG, Buffer.from('beat'), key);
    assert.equal(frame[0], 0x80 | OP_PONG);
    assert.equal(frame[1], 0x80 | 4);
    assert.deepEqual([...frame.subarray(2, 6)], [...key]);
    const unmasked = Buffer.from(frame.subarray(6).map((b, i) => b ^ key[i & 3]!));
    assert.equal(unmasked.toString(), 'beat');
  });

  it('uses 16- and 64-bit lengths for longer payloads', () => {
    const key = Uint8Array.of(0, 0, 0, 0);
    const medium = clientFrame(OP_TEXT, Buffer.alloc(1000), key);
    assert.equal(medium[1], 0x80 | 126);
    assert.equal(medium.readUInt16BE(2), 1000);
    assert.equal(medium.length, 2 + 2 + 4 + 1000);
    const large = clientFrame(OP_TEXT, Buffer.alloc(70_000), key);
    assert.equal(large[1], 0x80 | 127);
    assert.equal(large.readUInt32BE(6), 70_000);
    assert.equal(large.length, 2 + 8 + 4 + 70_000);
  });
});
