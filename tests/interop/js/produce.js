'use strict'
// kafkajs produces with every codec it supports, for test_kafkajs.py.
//
//   node produce.js BOOTSTRAP TOPIC_PREFIX PARTITIONS RECORDS CODEC[,CODEC...] [REPLICAS]
//
// BOOTSTRAP is host:port[,host:port...]. For each codec: create
// TOPIC_PREFIX-CODEC (REPLICAS replicas, default 1) with kafkajs's admin client, then
// send RECORDS records in batches of BATCH, batch b to partition b % PARTITIONS,
// each record i with the key, value, headers and timestamp of record(i) below
// (test_kafkajs.py rebuilds the same records to check what was stored).
// Prints one JSON line per codec: {codec, ok, error, sends: [{partition,
// baseOffset, first, count}]}. gzip is built into kafkajs; snappy comes from
// kafkajs-snappy; lz4 (frame format) from lz4js and zstd from zstd-codec
// (WebAssembly) through the small adapters below. None needs a native build.

const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = require('kafkajs')
const SnappyCodec = require('kafkajs-snappy')
const lz4js = require('lz4js')
const xxh32 = require('lz4js/xxh32.js')
const { ZstdCodec } = require('zstd-codec')

const BATCH = 50
const BASE_TIMESTAMP_MS = 1700000000000

const CODECS = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD
}

// Kafka reads LZ4 frames with independent blocks only (FLG bit 5); lz4js's own
// frame writer leaves that bit clear, so frame the blocks here: each 64 KiB
// block compressed with a fresh hash table, hence truly independent.
const LZ4_BLOCK = 64 << 10

function lz4Frame (src) {
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0])
  header[6] = (xxh32.hash(0, header, 4, 2) >> 8) & 0xff
  const parts = [header]
  const out = Buffer.alloc(lz4js.compressBound(LZ4_BLOCK))
  for (let at = 0; at < src.length; at += LZ4_BLOCK) {
    const len = Math.min(LZ4_BLOCK, src.length - at)
    const size = lz4js.compressBlock(src, out, at, len, new Uint32Array(1 << 16))
    const head = Buffer.alloc(4)
    if (size === 0 || size >= len) {
      head.writeUInt32LE((0x80000000 | len) >>> 0)
      parts.push(head, Buffer.from(src.subarray(at, at + len)))
    } else {
      head.writeUInt32LE(size)
      parts.push(head, Buffer.from(out.subarray(0, size)))
    }
  }
  parts.push(Buffer.alloc(4))
  return Buffer.concat(parts)
}

function lz4CodecFactory () {
  return () => ({
    async compress (encoder) {
      return lz4Frame(encoder.buffer)
    },
    async decompress (buffer) {
      return Buffer.from(lz4js.decompress(buffer))
    }
  })
}

function zstdCodecFactory () {
  const ready = new Promise(resolve => ZstdCodec.run(zstd => resolve(new zstd.Simple())))
  return () => ({
    async compress (encoder) {
      return Buffer.from((await ready).compress(encoder.buffer))
    },
    async decompress (buffer) {
      return Buffer.from((await ready).decompress(buffer))
    }
  })
}

CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec
CompressionCodecs[CompressionTypes.LZ4] = lz4CodecFactory()
CompressionCodecs[CompressionTypes.ZSTD] = zstdCodecFactory()

// Keep in step with record_data() in test_kafkajs.py.
function record (i) {
  const value = Buffer.alloc((i * 29) % 200 + 1)
  for (let j = 0; j < value.length; j++) value[j] = (i * 13 + j * 5) & 0xff
  const bin = Buffer.alloc(i % 4)
  for (let j = 0; j < bin.length; j++) bin[j] = (i + j * 77) & 0xff
  return {
    key: i % 11 === 0 ? null : `kjs-${i}`,
    value,
    headers: { seq: String(i), bin },
    timestamp: String(BASE_TIMESTAMP_MS + 7 * i)
  }
}

async function runCodec (kafka, topic, partitions, replicas, records, codec) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: replicas }],
      waitForLeaders: true
    })
  } finally {
    await admin.disconnect()
  }
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  const sends = []
  try {
    for (let first = 0, b = 0; first < records; first += BATCH, b++) {
      const count = Math.min(BATCH, records - first)
      const partition = b % partitions
      const messages = []
      for (let i = first; i < first + count; i++) messages.push({ ...record(i), partition })
      const res = await producer.send({ topic, acks: -1, compression: CODECS[codec], messages })
      const meta = res.find(r => r.partition === partition)
      if (!meta || meta.errorCode !== 0) throw new Error(`send failed: ${JSON.stringify(res)}`)
      sends.push({ partition, baseOffset: meta.baseOffset, first, count })
    }
  } finally {
    await producer.disconnect()
  }
  return sends
}

async function main () {
  const [bootstrap, prefix, partitions, records, codecs, replicas] = process.argv.slice(2)
  const kafka = new Kafka({
    clientId: 'kafkajs-check',
    brokers: bootstrap.split(','),
    logLevel: logLevel.ERROR,
    retry: { retries: 5 }
  })
  let failed = false
  for (const codec of codecs.split(',')) {
    const line = { codec, ok: false, error: null, sends: [] }
    try {
      if (!(codec in CODECS)) throw new Error(`unknown codec ${codec}`)
      line.sends = await runCodec(kafka, `${prefix}-${codec}`, Number(partitions),
        Number(replicas || 1), Number(records), codec)
      line.ok = true
    } catch (e) {
      line.error = String(e && e.stack ? e.stack : e)
      failed = true
    }
    process.stdout.write(JSON.stringify(line) + '\n')
  }
  process.exit(failed ? 1 : 0)
}

main().catch(e => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n')
  process.exit(2)
})
