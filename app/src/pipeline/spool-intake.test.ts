/**
 * A spool append that fails (its disk is full) refuses that turn's events as overload, leaves
 * no half-written record behind, and admission drops their staged ids, so the client's retry is accepted
 * rather than dropped as a duplicate. Real spool files on a real, full tmpfs (needs root).
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { sampleEvent } from "../../../test-support/collector/events";
import { smallFilesystem } from "../../../test-support/collector/durability";
import { packEvents } from "../client/packer";
import { DECODERS, datagramDecoder } from "../protocol/native-decode";
import { SEGMENT_MAGIC, segmentFileName } from "../spool/record-format";
import { SpoolReader, splitSpooledLines } from "../spool/spool-reader";
import { SpoolWriter } from "../spool/spool-writer";
import { ingestChain } from "../../../test-support/collector/ingest-chain";
import { requireRoot } from "../../../test-support/tools";

const NOW = 1_764_150_000_000;
const isRoot = requireRoot("the spool write-failure test", "to mount a small tmpfs");

(isRoot ? describe : describe.skip)("a spool append that fails", () => {
  it.each(DECODERS)("refuses the turn's events as overload, cuts nothing in, and accepts the client's retry (%s decoder)", (decoder) => {
    const disk = smallFilesystem(1);
    try {
      // The spool's own bound is far above the disk: this is a write error, not a full spool.
      const spool = SpoolWriter.open({ dir: disk.dir, maxBytes: 64 << 20, segmentBytes: 16 << 20, fsyncIntervalMs: 0 });
      const chain = ingestChain(spool, { decoder: datagramDecoder(decoder), now: NOW });
      // Over a page in all (tmpfs would still fit a small record into the segment's first page).
      const ids = Array.from({ length: 30 }, (_, n) => `retry-${n}`);
      const datagrams = packEvents(ids.map((id) => sampleEvent({ id, t: NOW })));
      const sendAll = () => datagrams.forEach((datagram) => chain.decode.handleDatagram(datagram, "198.51.100.7"));
      const segment = join(disk.dir, segmentFileName(0));

      disk.fill();
      sendAll();
      chain.endTurn();
      let stats = chain.counters();
      expect(stats.accepted).toBe(0);
      expect(stats.rejectedEvents.overload).toBe(30);
      expect(stats.spoolWriteErrors).toBe(1);
      expect(spool.end).toBe(0);
      expect(statSync(segment).size).toBe(SEGMENT_MAGIC.length);

      disk.free();
      sendAll();
      chain.endTurn();
      stats = chain.counters();
      expect(stats.accepted).toBe(30);
      expect(stats.rejectedEvents.duplicate).toBe(0);
      const reader = new SpoolReader(disk.dir);
      expect(splitSpooledLines(reader.read(0, spool.end, 100).lines).map((line) => (JSON.parse(line) as { id: string }).id)).toEqual(ids);
      reader.close();
      spool.close();
    } finally {
      disk.release();
    }
  });
});
